"""`make compose-test`: build fitq's images, run the compose stack in containers, check it, tear it down."""
