// Our own declarations for the parts of `smpp@0.5.1` we use; the package ships no types.
declare module 'smpp' {
  /** A decoded or to-be-encoded PDU; mandatory params and TLVs live as plain fields. */
  export class PDU {
    constructor(command: string, options?: Record<string, unknown>);
    constructor(buffer: Buffer);
    command: string;
    command_id: number;
    command_status: number;
    command_length: number;
    sequence_number: number;
    [field: string]: unknown;
    isResponse(): boolean;
    toBuffer(): Buffer;
    static maxLength: number;
    static fromBuffer(buffer: Buffer): PDU | false;
  }
  export interface ParamDef {
    type: unknown;
    default?: unknown;
    filter?: { encode: (value: unknown) => unknown; decode: (value: unknown, skipUdh?: boolean) => unknown };
  }
  export interface CommandDef {
    id: number;
    command?: string;
    params?: Record<string, ParamDef>;
    tlvMap?: Record<string, string>;
  }
  export interface TlvDef {
    id: number;
    tag?: string;
    type: unknown;
    multiple?: boolean;
    filter?: ParamDef['filter'];
  }
  export const commands: Record<string, CommandDef>;
  export const commandsById: Record<number, CommandDef>;
  export const tlvs: Record<string, TlvDef>;
  export const tlvsById: Record<number, TlvDef>;
  export const errors: Record<string, number>;
  const smpp: {
    PDU: typeof PDU;
    commands: typeof commands;
    commandsById: typeof commandsById;
    tlvs: typeof tlvs;
    tlvsById: typeof tlvsById;
    errors: typeof errors;
  };
  export default smpp;
}
