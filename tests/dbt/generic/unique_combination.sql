{#- Fails for every combination of `columns` that occurs more than once. With
    latest_build_only, only the runs the latest build classified are checked (for keys that
    include run_id: earlier runs were checked by the build that added them). -#}
{% test unique_combination(model, columns, latest_build_only=false) %}
    {%- set first_run = latest_build_first_run_id(model) if latest_build_only else none %}
    select
        {{ columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    {%- if first_run %}
    where run_id >= '{{ first_run }}'
    {%- endif %}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
