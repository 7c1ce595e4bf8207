//! Shared harness for the browser tests: starts chromedriver, a strata server and a
//! headless Chromium session with a fresh profile.
