/**
 * The part of ua-parser-js 1.x (MIT) that src/device uses. 1.x ships no type declarations, and 2.x
 * (which does) is AGPL, so the few members we call are declared here. Values are `undefined` when
 * the library found nothing.
 */
declare module 'ua-parser-js' {
  namespace UAParser {
    interface IBrowser {
      name: string | undefined;
      version: string | undefined;
      major: string | undefined;
    }
    interface IEngine {
      name: string | undefined;
      version: string | undefined;
    }
    interface IOS {
      name: string | undefined;
      version: string | undefined;
    }
    interface IDevice {
      vendor: string | undefined;
      model: string | undefined;
      /** `console`, `mobile`, `tablet`, `smarttv`, `wearable` or `embedded`; undefined for desktops. */
      type: string | undefined;
    }
  }

  class UAParser {
    constructor(ua?: string);
    setUA(ua: string): this;
    getBrowser(): UAParser.IBrowser;
    getEngine(): UAParser.IEngine;
    getOS(): UAParser.IOS;
    getDevice(): UAParser.IDevice;
  }

  export = UAParser;
}
