/** Reasons the notification service raises. Listed in docs/errors.md. */
export const NotificationReasons = {
  /** A malformed address, or one that cannot exist: the email goes to the DLQ at once (`invalid_argument`). */
  INVALID_ADDRESS: 'NOTIFICATION_INVALID_ADDRESS',
  /** No template with this id: the email goes to the DLQ at once (`invalid_argument`). */
  UNKNOWN_TEMPLATE: 'NOTIFICATION_UNKNOWN_TEMPLATE',
  /** The template needs data the command lacks: the email goes to the DLQ at once (`invalid_argument`). */
  TEMPLATE_DATA: 'NOTIFICATION_TEMPLATE_DATA',
  /** No email with this message id in the mailbox (`not_found`). */
  NOT_FOUND: 'NOTIFICATION_NOT_FOUND',
} as const;
