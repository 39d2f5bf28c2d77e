{#- Alert (quarantine open too long): every open quarantined record that has been open for more
    than `max_days` days (default: var quarantine_max_open_days), less the runs acknowledged for
    `alert` (lakehouse acknowledge). Unlike the alerts on fct_run_metrics it judges every open
    record, not the latest build's runs: an old record that nobody works on is the point. The
    way to stop it for a record is a decision (lakehouse quarantine decide: waive or condemn) or
    a corrected delivery. Each failure row names the run, the file and the line. -#}
{% test quarantine_open_at_most_days(model, alert, max_days=none) %}
    {%- set days = quarantine_max_open_days(max_days) -%}
    {%- if not modules.re.fullmatch('^[a-z][a-z_]{0,62}$', alert | string) -%}
        {{ exceptions.raise_compiler_error(
            'alert name must be lowercase letters and underscores, got: ' ~ alert
        ) }}
    {%- endif %}
    select
        open_items.run_id,
        open_items.source_file,
        open_items.line_number,
        open_items.owner,
        open_items.age_days,
        open_items.open_since
    from {{ model }} as open_items
    where
        open_items.open_since < {{ dbt.dateadd('day', -1 * days, utc_now()) }}
        and not exists (
            select 1
            from {{ source('landing', 'alert_acknowledgements') }} as acknowledged
            where
                acknowledged.alert = '{{ alert }}'
                and acknowledged.run_id = open_items.run_id
        )
{% endtest %}
