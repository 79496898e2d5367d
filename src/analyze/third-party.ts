// Directives of the common third-party modules, written by hand from each
// module's command table (names, contexts, argument flags, block, on/off):
//   lua          openresty/lua-nginx-module (http) and stream-lua-nginx-module
//   njs          nginx/njs (ngx_http_js_module, ngx_stream_js_module)
//   headers-more openresty/headers-more-nginx-module
//   rtmp         arut/nginx-rtmp-module
// Removed directives that real configs still carry are kept (js_include, njs < 0.7.1).
import type { ArityFlag, ContextName, DirectiveVariant } from './table-types.js';

// Context sets, named after the NGX_*_CONF flags they stand for.
const H_MAIN = ['http'];
const H_MSL = ['http', 'server', 'location'];
const H_MS = ['http', 'server'];
const H_MSL_LIF = ['http', 'server', 'location', 'if-in-location'];
const H_L_LIF = ['location', 'if-in-location'];
const H_L_LIF_LMT = ['location', 'if-in-location', 'limit_except'];
const H_S_SIF_L_LIF = ['server', 'if-in-server', 'location', 'if-in-location'];
const H_UPS = ['upstream'];
const H_L = ['location'];
const S_MAIN = ['stream'];
const S_MS = ['stream', 'stream-server'];
const S_SRV = ['stream-server'];
const S_UPS = ['stream-upstream'];
const R_MAIN = ['rtmp'];
const R_MS = ['rtmp', 'rtmp-server'];
const R_MSA = ['rtmp', 'rtmp-server', 'rtmp-application'];
const R_MSAR = ['rtmp', 'rtmp-server', 'rtmp-application', 'rtmp-recorder'];
const R_SRV = ['rtmp-server'];
const R_APP = ['rtmp-application'];
const MAIN = ['main'];

interface Options {
  block?: boolean;
  onOff?: boolean;
}

/** One module family: a function adding that family's directives to a list. */
function family(moduleType: string, module: string, into: DirectiveVariant[]) {
  return (names: string[], contexts: ContextName[], arity: ArityFlag | ArityFlag[], opts: Options = {}): void => {
    for (const name of names) {
      into.push({
        name,
        module,
        moduleType,
        contexts,
        arity: Array.isArray(arity) ? arity : [arity],
        block: opts.block ?? false,
        onOff: opts.onOff ?? false,
      });
    }
  };
}

function luaHttp(): DirectiveVariant[] {
  const out: DirectiveVariant[] = [];
  const d = family('lua', 'ngx_http_lua_module', out);
  d(['lua_thread_cache_max_entries', 'lua_max_running_timers', 'lua_max_pending_timers',
    'lua_capture_error_log', 'lua_regex_cache_max_entries', 'lua_regex_match_limit',
    'lua_package_cpath', 'lua_package_path', 'init_by_lua', 'init_by_lua_file',
    'init_worker_by_lua', 'init_worker_by_lua_file', 'exit_worker_by_lua_file',
    'ssl_session_store_by_lua_file', 'ssl_session_fetch_by_lua_file', 'lua_malloc_trim',
    'lua_worker_thread_vm_pool_size'], H_MAIN, 'TAKE1');
  d(['lua_shared_dict'], H_MAIN, 'TAKE2');
  d(['lua_load_resty_core'], H_MAIN, 'FLAG'); // obsolete: accepted and ignored
  d(['lua_sa_restart', 'precontent_by_lua_no_postpone', 'rewrite_by_lua_no_postpone',
    'access_by_lua_no_postpone'], H_MAIN, 'FLAG', { onOff: true });
  d(['init_by_lua_block', 'init_worker_by_lua_block', 'exit_worker_by_lua_block',
    'ssl_session_store_by_lua_block', 'ssl_session_fetch_by_lua_block'], H_MAIN, 'NOARGS', { block: true });
  d(['lua_code_cache', 'lua_need_request_body', 'lua_transform_underscores_in_response_headers',
    'lua_socket_log_errors', 'lua_http10_buffering', 'lua_check_client_abort',
    'lua_use_default_type'], H_MSL_LIF, 'FLAG', { onOff: true });
  d(['set_by_lua_block'], H_S_SIF_L_LIF, 'TAKE1', { block: true });
  d(['set_by_lua', 'set_by_lua_file'], H_S_SIF_L_LIF, '2MORE');
  d(['server_rewrite_by_lua_block', 'ssl_client_hello_by_lua_block', 'ssl_certificate_by_lua_block'],
    H_MS, 'NOARGS', { block: true });
  d(['server_rewrite_by_lua_file', 'ssl_client_hello_by_lua_file', 'ssl_certificate_by_lua_file'], H_MS, 'TAKE1');
  d(['rewrite_by_lua', 'rewrite_by_lua_file', 'access_by_lua', 'access_by_lua_file',
    'precontent_by_lua_file', 'log_by_lua', 'log_by_lua_file', 'header_filter_by_lua',
    'header_filter_by_lua_file', 'body_filter_by_lua', 'body_filter_by_lua_file',
    'lua_socket_keepalive_timeout', 'lua_socket_connect_timeout', 'lua_socket_send_timeout',
    'lua_socket_send_lowat', 'lua_socket_buffer_size', 'lua_socket_pool_size',
    'lua_socket_read_timeout'], H_MSL_LIF, 'TAKE1');
  d(['rewrite_by_lua_block', 'access_by_lua_block', 'precontent_by_lua_block', 'log_by_lua_block',
    'header_filter_by_lua_block', 'body_filter_by_lua_block'], H_MSL_LIF, 'NOARGS', { block: true });
  d(['content_by_lua', 'content_by_lua_file', 'proxy_ssl_certificate_by_lua_file',
    'proxy_ssl_verify_by_lua_file'], H_L_LIF, 'TAKE1');
  d(['content_by_lua_block', 'proxy_ssl_certificate_by_lua_block', 'proxy_ssl_verify_by_lua_block'],
    H_L_LIF, 'NOARGS', { block: true });
  d(['lua_upstream_skip_openssl_default_verify'], H_L_LIF, 'FLAG', { onOff: true });
  d(['balancer_by_lua_block'], H_UPS, 'NOARGS', { block: true });
  d(['balancer_by_lua_file', 'balancer_keepalive'], H_UPS, 'TAKE1');
  d(['lua_ssl_protocols'], H_MSL, '1MORE');
  d(['lua_ssl_ciphers', 'lua_ssl_verify_depth', 'lua_ssl_certificate', 'lua_ssl_certificate_key',
    'lua_ssl_trusted_certificate', 'lua_ssl_crl', 'lua_ssl_key_log'], H_MSL, 'TAKE1');
  d(['lua_ssl_conf_command'], H_MSL, 'TAKE2');
  return out;
}

function luaStream(): DirectiveVariant[] {
  const out: DirectiveVariant[] = [];
  const d = family('lua', 'ngx_stream_lua_module', out);
  d(['lua_max_running_timers', 'lua_max_pending_timers', 'lua_capture_error_log',
    'lua_regex_cache_max_entries', 'lua_regex_match_limit', 'lua_package_cpath', 'lua_package_path',
    'init_by_lua', 'init_by_lua_file', 'init_worker_by_lua', 'init_worker_by_lua_file',
    'lua_malloc_trim', 'lua_add_variable'], S_MAIN, 'TAKE1');
  d(['lua_shared_dict'], S_MAIN, 'TAKE2');
  d(['lua_load_resty_core'], S_MAIN, 'FLAG');
  d(['lua_sa_restart', 'preread_by_lua_no_postpone'], S_MAIN, 'FLAG', { onOff: true });
  d(['init_by_lua_block', 'init_worker_by_lua_block'], S_MAIN, 'NOARGS', { block: true });
  d(['lua_code_cache', 'lua_socket_log_errors', 'lua_check_client_abort'], S_MS, 'FLAG', { onOff: true });
  d(['preread_by_lua_file', 'log_by_lua_file', 'ssl_client_hello_by_lua_file', 'ssl_certificate_by_lua_file',
    'lua_socket_keepalive_timeout', 'lua_socket_connect_timeout', 'lua_socket_send_timeout',
    'lua_socket_send_lowat', 'lua_socket_buffer_size', 'lua_socket_pool_size', 'lua_socket_read_timeout',
    'lua_ssl_ciphers', 'lua_ssl_verify_depth', 'lua_ssl_certificate', 'lua_ssl_certificate_key',
    'lua_ssl_trusted_certificate', 'lua_ssl_crl', 'lua_ssl_key_log'], S_MS, 'TAKE1');
  d(['preread_by_lua_block', 'log_by_lua_block', 'ssl_client_hello_by_lua_block',
    'ssl_certificate_by_lua_block'], S_MS, 'NOARGS', { block: true });
  d(['lua_ssl_protocols'], S_MS, '1MORE');
  d(['lua_ssl_conf_command'], S_MS, 'TAKE2');
  d(['content_by_lua', 'content_by_lua_file', 'proxy_ssl_certificate_by_lua_file',
    'proxy_ssl_verify_by_lua_file'], S_SRV, 'TAKE1');
  d(['content_by_lua_block', 'proxy_ssl_certificate_by_lua_block', 'proxy_ssl_verify_by_lua_block'],
    S_SRV, 'NOARGS', { block: true });
  d(['lua_upstream_skip_openssl_default_verify'], S_SRV, 'FLAG', { onOff: true });
  d(['balancer_by_lua_block'], S_UPS, 'NOARGS', { block: true });
  d(['balancer_by_lua_file'], S_UPS, 'TAKE1');
  return out;
}

function njs(): DirectiveVariant[] {
  const out: DirectiveVariant[] = [];
  const http = family('njs', 'ngx_http_js_module', out);
  http(['js_engine', 'js_context_reuse', 'js_context_reuse_max_size', 'js_path', 'js_fetch_buffer_size',
    'js_fetch_max_response_buffer_size', 'js_fetch_timeout', 'js_fetch_ciphers', 'js_fetch_verify_depth',
    'js_fetch_trusted_certificate', 'js_fetch_keepalive', 'js_fetch_keepalive_requests',
    'js_fetch_keepalive_time', 'js_fetch_keepalive_timeout', 'js_fetch_proxy'], H_MSL, 'TAKE1');
  http(['js_import', 'js_preload_object'], H_MSL, 'TAKE13');
  http(['js_set'], H_MSL, 'TAKE23');
  http(['js_var'], H_MSL, 'TAKE12');
  http(['js_fetch_protocols'], H_MSL, '1MORE');
  http(['js_fetch_verify'], H_MSL, 'FLAG', { onOff: true });
  http(['js_periodic'], H_L, 'ANY');
  http(['js_access', 'js_content', 'js_header_filter'], H_L_LIF_LMT, 'TAKE1');
  http(['js_body_filter'], H_L_LIF_LMT, 'TAKE12');
  http(['js_shared_dict_zone'], H_MAIN, '1MORE');
  http(['js_include'], H_MAIN, 'TAKE1'); // removed in njs 0.7.1
  http(['js_load_http_native_module'], MAIN, 'TAKE13');

  const stream = family('njs', 'ngx_stream_js_module', out);
  stream(['js_engine'], S_MS, '1MORE');
  stream(['js_context_reuse', 'js_context_reuse_max_size', 'js_path', 'js_access', 'js_preread', 'js_filter',
    'js_fetch_buffer_size', 'js_fetch_max_response_buffer_size', 'js_fetch_timeout', 'js_fetch_keepalive',
    'js_fetch_keepalive_requests', 'js_fetch_keepalive_time', 'js_fetch_keepalive_timeout', 'js_fetch_ciphers',
    'js_fetch_verify_depth', 'js_fetch_trusted_certificate', 'js_fetch_proxy'], S_MS, 'TAKE1');
  stream(['js_import', 'js_preload_object'], S_MS, 'TAKE13');
  stream(['js_set'], S_MS, 'TAKE23');
  stream(['js_var'], S_MS, 'TAKE12');
  stream(['js_fetch_protocols'], S_MS, '1MORE');
  stream(['js_fetch_verify'], S_MS, 'FLAG', { onOff: true });
  stream(['js_periodic'], S_SRV, 'ANY');
  stream(['js_shared_dict_zone'], S_MAIN, '1MORE');
  stream(['js_include'], S_MAIN, 'TAKE1'); // removed in njs 0.7.1
  stream(['js_load_stream_native_module'], MAIN, 'TAKE13');
  return out;
}

function headersMore(): DirectiveVariant[] {
  const out: DirectiveVariant[] = [];
  const d = family('headers-more', 'ngx_http_headers_more_filter_module', out);
  d(['more_set_headers', 'more_clear_headers', 'more_set_input_headers', 'more_clear_input_headers'],
    H_MSL_LIF, '1MORE');
  return out;
}

function rtmp(): DirectiveVariant[] {
  const out: DirectiveVariant[] = [];
  const d = family('rtmp', 'nginx-rtmp-module', out);
  d(['rtmp'], MAIN, 'NOARGS', { block: true });
  d(['rtmp_auto_push'], MAIN, 'TAKE1', { onOff: true });
  d(['rtmp_auto_push_reconnect', 'rtmp_socket_dir'], MAIN, 'TAKE1');
  d(['rtmp_control', 'rtmp_stat'], H_MSL, '1MORE');
  d(['rtmp_stat_stylesheet'], H_MSL, 'TAKE1');
  d(['server'], R_MAIN, 'NOARGS', { block: true });
  d(['listen'], R_SRV, 'TAKE12');
  d(['application'], R_SRV, 'TAKE1', { block: true });
  d(['recorder'], R_APP, 'TAKE1', { block: true });
  d(['exec_block'], R_APP, ['NOARGS', 'TAKE1'], { block: true });
  d(['pull', 'push'], R_APP, '1MORE');
  d(['so_keepalive'], R_MS, 'FLAG', { onOff: true });
  d(['busy'], R_MS, 'TAKE1', { onOff: true });
  d(['ack_window', 'buflen', 'chunk_size', 'max_message', 'max_streams', 'netcall_buffer', 'netcall_timeout',
    'on_connect', 'on_disconnect', 'out_cork', 'out_queue', 'ping', 'ping_timeout', 'relay_buffer',
    'timeout'], R_MS, 'TAKE1');
  d(['exec', 'exec_play', 'exec_play_done', 'exec_publish', 'exec_publish_done', 'exec_pull', 'exec_push',
    'exec_static', 'hls_variant', 'play'], R_MSA, '1MORE');
  d(['log_format'], R_MSA, '2MORE');
  d(['access_log', 'allow', 'deny'], R_MSA, 'TAKE12');
  d(['buffer', 'dash_fragment', 'dash_path', 'dash_playlist_length', 'drop_idle_publisher',
    'exec_kill_signal', 'hls_audio_buffer_size', 'hls_base_url', 'hls_fragment', 'hls_fragment_naming',
    'hls_fragment_naming_granularity', 'hls_fragment_slicing', 'hls_fragments_per_key', 'hls_key_path',
    'hls_key_url', 'hls_max_audio_delay', 'hls_max_fragment', 'hls_muxdelay', 'hls_path',
    'hls_playlist_length', 'hls_sync', 'hls_type', 'max_connections', 'meta', 'notify_method',
    'notify_update_timeout', 'on_done', 'on_play', 'on_play_done', 'on_publish', 'on_publish_done',
    'on_update', 'play_local_path', 'play_temp_path', 'pull_reconnect', 'push_reconnect',
    'respawn_timeout', 'stream_buckets', 'sync'], R_MSA, 'TAKE1');
  d(['dash', 'dash_cleanup', 'dash_nested', 'exec_options', 'hls', 'hls_cleanup', 'hls_continuous',
    'hls_keys', 'hls_nested', 'idle_streams', 'interleave', 'live', 'notify_relay_redirect',
    'notify_update_strict', 'play_restart', 'play_time_fix', 'publish_notify', 'publish_time_fix',
    'respawn', 'session_relay', 'wait_key', 'wait_video'], R_MSA, 'TAKE1', { onOff: true });
  d(['exec_record_done', 'record'], R_MSAR, '1MORE');
  d(['on_record_done', 'record_interval', 'record_max_frames', 'record_max_size', 'record_path',
    'record_suffix'], R_MSAR, 'TAKE1');
  d(['record_append', 'record_lock', 'record_notify', 'record_unique'], R_MSAR, 'TAKE1', { onOff: true });
  return out;
}

export const THIRD_PARTY_DIRECTIVES: readonly DirectiveVariant[] = [
  ...luaHttp(),
  ...luaStream(),
  ...njs(),
  ...headersMore(),
  ...rtmp(),
];
