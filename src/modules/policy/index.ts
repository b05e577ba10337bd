export {
  InvalidPolicyError,
  InvalidPolicyVariableError,
  UnknownPolicyVariablesError,
  MAX_POLICY_CHARS,
  PUBLIC_PAGES,
  type LinkNotServed,
  type PolicyFrontMatter,
  type VariableUse,
} from "./policy.js";
export {
  importPolicy,
  setPolicyVariable,
  listPolicyVariables,
  presentPolicyPage,
  readDefaultPolicySource,
  DEFAULT_POLICY_FILE,
  type PolicyImport,
  type PolicyPage,
  type PolicyVariableList,
} from "./policy.service.js";
export { BUILT_IN_VARIABLES, BUILT_IN_VARIABLE_NAMES, computeBuiltInVariables, type SiteContext } from "./site-variables.js";
