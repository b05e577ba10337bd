export { computeDeadlines, firstResponseTarget, type Deadlines } from "./sla.js";
