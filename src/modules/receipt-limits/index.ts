export { addressIn, decideReceipt, shieldAddressesOf, isOwnAddress, nextFreeSlot, normalizeAddress, type ReceiptDecision, type ReceiptLimit } from "./receipt-limit.js";
export { admitReceipt, forgetDigest, takeDigest, RECEIPT_DIGEST_JOB, type HeldReceipt, type ReceiptAdmission } from "./receipt-limit.service.js";
