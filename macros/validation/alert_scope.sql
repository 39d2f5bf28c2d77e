{#- The runs an alert test judges, as a filter on `model` (a model with run_id and built_at:
    fct_run_metrics): the runs the latest build of the model wrote (var check_all_runs: true, every
    run; latest_build_scope), less the runs an operator acknowledged for this alert
    (landing.alert_acknowledgements, written by lakehouse acknowledge). `alert` names the
    alert as the acknowledgements do; `run_id_column` is the run_id as the test's query names it. -#}
{% macro alert_scope(model, alert, run_id_column='run_id') -%}
    {%- if not modules.re.fullmatch('^[a-z][a-z_]{0,62}$', alert | string) -%}
        {{ exceptions.raise_compiler_error(
            'alert name must be lowercase letters and underscores, got: ' ~ alert
        ) }}
    {%- endif -%}
    {%- set first_run = latest_build_scope(model, 'built_at') -%}
    {%- if first_run %}{{ run_id_column }} >= '{{ first_run }}' and {% endif -%}
    not exists (
        select 1
        from {{ source('landing', 'alert_acknowledgements') }} as acknowledged
        where
            acknowledged.alert = '{{ alert }}'
            and acknowledged.run_id = {{ run_id_column }}
    )
{%- endmacro %}
