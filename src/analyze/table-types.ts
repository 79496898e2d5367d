// Shapes of the directive table. A directive name may be defined by several
// modules (`server` in http, upstream, stream, mail, rtmp): each definition is
// one DirectiveVariant, and nginx picks the variant whose contexts hold the
// context the directive is written in.

/**
 * Contexts as nginx-directives.tsv names them, plus the rtmp module's:
 * main, events, http, server, location, if-in-server, if-in-location,
 * limit_except, upstream, stream, stream-server, stream-upstream, mail,
 * mail-server, rtmp, rtmp-server, rtmp-application, rtmp-recorder; and `any`
 * (NGX_ANY_CONF: `include`).
 */
export type ContextName = string;

/**
 * nginx's argument-count flags, as written in the TSV without the NGX_CONF_
 * prefix: NOARGS, TAKE1 … TAKE7, TAKE12, TAKE13, TAKE23, TAKE123, TAKE1234,
 * FLAG, 1MORE, 2MORE, ANY.
 */
export type ArityFlag = string;

export interface DirectiveVariant {
  name: string;
  /** Source file of the defining module (nginx) or the third-party module's name. */
  module: string;
  /** core, event, http, stream, mail, misc, or a third-party family (lua, njs, headers-more, rtmp). */
  moduleType: string;
  contexts: ContextName[];
  arity: ArityFlag[];
  /** NGX_CONF_BLOCK: the directive takes a `{ … }` body. */
  block: boolean;
  /** The value must be "on" or "off" (nginx's ngx_conf_set_flag_slot). */
  onOff: boolean;
  /** Build condition in nginx's source, e.g. `if (NGX_HTTP_SSL)`. */
  ifdef?: string;
}

/** Every definition of one directive name, merged. */
export interface DirectiveSpec {
  name: string;
  variants: DirectiveVariant[];
  /** Union of the variants' contexts, in table order. */
  contexts: ContextName[];
  /** Defining modules, in table order. */
  modules: string[];
  /** True when some variant takes a block. */
  block: boolean;
}
