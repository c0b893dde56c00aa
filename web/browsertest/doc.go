// Package browsertest drives the web map in a real browser: headless
// Chromium (Debian's chromium, no browser download) over the demo data,
// by chromedp. It holds only tests; they skip without Chromium, except
// when CI=true.
package browsertest
