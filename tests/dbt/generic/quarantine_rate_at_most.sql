{#- Alert: runs whose quarantine rate is above `max_rate` (default: var quarantine_rate_alert,
    1 % as the spec's alert). Severity is set where the test is used (var alert_severity). -#}
{% test quarantine_rate_at_most(model, max_rate=none) %}
    {%- set max_rate = var('quarantine_rate_alert', 0.01) if max_rate is none else max_rate -%}
    select
        run_id,
        source_file,
        quarantine_rate
    from {{ model }}
    where quarantine_rate > {{ max_rate | float }}
{% endtest %}
