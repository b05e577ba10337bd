import { z } from "zod";

/** Messages that read well next to a form field: "is required" rather than zod's type talk. */
z.config({
  customError: (issue) => {
    if (issue.code === "invalid_type" && issue.input === undefined) return "is required";
    if (issue.code === "invalid_type" && issue.expected === "string") return "must be text";
    if (issue.code === "invalid_type" && issue.expected === "boolean") return "must be true or false";
    if (issue.code === "invalid_type" && issue.expected === "object") return "must be an object";
    return undefined;
  },
});
