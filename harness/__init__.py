"""What the tests and the benchmarks share, and the app never imports: starting the app on a free
port, driving Debian's Chromium with Playwright, and the corpus of hostile files the input checks
are tried on."""
