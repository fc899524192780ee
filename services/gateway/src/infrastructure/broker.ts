import { createTransport, type Transport } from '@sluice/messaging';

/** The broker as the operator routes see it: opened on first use, reopened after a failed open. */
export interface BrokerHandle {
  transport(): Promise<Transport>;
  close(): Promise<void>;
}

/** Opens the transport of `url` (`SLUICE_BROKER`) lazily; the gateway only reads stats and dead letters. */
export function brokerHandle(
  url: string,
  open: (url: string) => Promise<Transport> = createTransport,
): BrokerHandle {
  let opening: Promise<Transport> | undefined;
  return {
    transport() {
      opening ??= open(url).catch((err: unknown) => {
        opening = undefined;
        throw err;
      });
      return opening;
    },
    async close() {
      const t = opening;
      opening = undefined;
      if (t) await (await t.catch(() => undefined))?.close();
    },
  };
}
