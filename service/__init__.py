"""fitq's service side. Its top-level modules (settings, logs, clock, queue, roster) are shared by every
process; each sub-package is one wing: store/ (persistence, used by every process), api/ and web/ (the
API process), ops/ (the sweeper and `fitq up`), cli/ (the `fitq` command). Never imports worker."""
