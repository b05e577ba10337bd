export { createInboundMail, type InboundMail } from "./inbound-mail.wiring.js";
export { isInboundRecipient, keepOfferedKey, receiveMail, replyTagSubject, threadOfReport, SHIELD_MESSAGE_ID, type ReceivedEnvelope, type ReceiveOutcome } from "./inbound-mail.service.js";
export { listInboundMessagesOfReport, findOpeningMessage, type InboundMessage, type InboundDetails } from "./inbound-mail.repository.js";
export { replyAddressFor, replySubject } from "./inbound-mail.js";
