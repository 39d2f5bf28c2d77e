{#- Volume alert: a run whose `column_name` (records in) lies outside
    [median / factor, median * factor], the median taken over the `trailing_runs` runs before it
    (in `order_by` order), among the runs alert_scope() judges (`alert`: the alert's name in
    acknowledgements; the medians use every run). Runs with fewer than `min_runs` earlier runs
    are not judged. Defaults:
    vars volume_alert_trailing_runs, volume_alert_factor, volume_alert_min_runs. Engine-neutral
    SQL (the median from row numbers, no median function). -#}
{% test volume_within_trailing_median(
    model,
    column_name,
    alert,
    order_by='run_id',
    label_column='source_file',
    trailing_runs=none,
    factor=none,
    min_runs=none
) %}
    {%- set trailing_runs = var('volume_alert_trailing_runs') if trailing_runs is none else trailing_runs -%}
    {%- set factor = var('volume_alert_factor') if factor is none else factor -%}
    {%- set min_runs = var('volume_alert_min_runs') if min_runs is none else min_runs -%}
    {%- for name, value in [('trailing_runs', trailing_runs), ('min_runs', min_runs)] -%}
        {%- if not modules.re.fullmatch('^[1-9][0-9]{0,5}$', value | string) -%}
            {{ exceptions.raise_compiler_error(
                'volume alert: ' ~ name ~ ' must be a whole number from 1, got: ' ~ value
            ) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if not modules.re.fullmatch('^[0-9]{1,6}([.][0-9]{1,6})?$', factor | string)
        or (factor | float) <= 1 -%}
        {{ exceptions.raise_compiler_error(
            'volume alert: factor must be a number above 1, got: ' ~ factor
        ) }}
    {%- endif %}

    with

    runs as (
        select
            run_id,
            {{ order_by }} as run_key,
            {{ label_column }} as label,
            {{ column_name }} as volume,
            row_number() over (order by {{ order_by }}) as run_number
        from {{ model }}
    ),

    earlier_runs as (
        select
            runs.run_key,
            past.volume,
            row_number() over (
                partition by runs.run_key order by past.volume
            ) as volume_rank,
            count(*) over (partition by runs.run_key) as history_runs
        from runs
        inner join runs as past
            on
                past.run_number < runs.run_number
                and past.run_number >= runs.run_number - {{ trailing_runs }}
    ),

    medians as (
        select
            run_key,
            max(history_runs) as history_runs,
            avg(1.0 * volume) as median_volume
        from earlier_runs
        where
            volume_rank in (floor((history_runs + 1) / 2.0), ceil((history_runs + 1) / 2.0))
        group by run_key
    ),

    final as (
        select
            runs.run_id,
            runs.label as source_file,
            runs.volume,
            medians.median_volume,
            medians.history_runs,
            medians.median_volume / {{ factor }} as lower_bound,
            medians.median_volume * {{ factor }} as upper_bound
        from runs
        inner join medians on runs.run_key = medians.run_key
        where
            medians.history_runs >= {{ min_runs }}
            and {{ alert_scope(model, alert, 'runs.run_id') }}
            and (
                runs.volume < medians.median_volume / {{ factor }}
                or runs.volume > medians.median_volume * {{ factor }}
            )
    )

    select * from final
{% endtest %}
