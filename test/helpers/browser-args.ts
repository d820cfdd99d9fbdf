/** The flags every headless Chromium of the tests runs with (the shared one and the cookie-less ones). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
