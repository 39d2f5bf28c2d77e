{#- Alert: runs whose quarantine rate is above `max_rate` (default: var quarantine_rate_alert,
    1 % as the spec's alert), among the runs alert_scope() judges (`alert`: the alert's name in
    acknowledgements). Severity is set where the test is used (var alert_severity). -#}
{% test quarantine_rate_at_most(model, alert, max_rate=none) %}
    {%- set max_rate = var('quarantine_rate_alert', 0.01) if max_rate is none else max_rate -%}
    select
        run_id,
        source_file,
        input_rows,
        quarantined_rows,
        quarantine_rate
    from {{ model }}
    where
        quarantine_rate > {{ max_rate | float }}
        and {{ alert_scope(model, alert) }}
{% endtest %}
