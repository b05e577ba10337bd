export { readPublicBaseUrl, recordPublicBaseUrl } from "./public-base-url.js";
