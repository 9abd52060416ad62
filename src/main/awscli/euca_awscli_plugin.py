"""Eucalyptus-TS plugin for AWS CLI versions that cannot read endpoints from the config file (v2 before 2.13).

Loaded through `[plugins] euca = euca_awscli_plugin` + `cli_legacy_plugin_path`, written by `euca credentials`.
For a profile that has `euca_endpoint_<service> = URL` keys, it sets `--endpoint-url` for that service unless one was
given on the command line. Profiles without such keys are untouched.
"""


def awscli_initialize(cli):
    cli.register('session-initialized', _set_endpoint)


def _set_endpoint(parsed_args, session=None, **kwargs):
    if session is None or getattr(parsed_args, 'endpoint_url', None):
        return
    command = getattr(parsed_args, 'command', None)
    if not command:
        return
    try:
        config = session.get_scoped_config()
    except Exception:
        return
    service = {'s3api': 's3'}.get(command, command)
    url = config.get('euca_endpoint_' + service)
    if url:
        parsed_args.endpoint_url = url
