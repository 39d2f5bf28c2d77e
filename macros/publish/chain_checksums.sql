{#- The chain of runs (issue #18): every `_SUCCESS` marker records, for each mart with per-run rows,
    the run's rows there as {"rows": n, "checksum": hex}; `lakehouse publish` writes them,
    `lakehouse verify` recomputes them from the published relations (source `published`) and
    compares. Both run `chain_checksums()` (`dbt show --inline`), so the SQL is written once, here;
    what differs between the engines is in macros/engine/row_checksums.sql (dispatched).

    The checksum of a run in a mart: count(*) and the sum, as decimal(38, 0), of the first 60 bits
    of the md5 of each row's canonical text, rendered as hex. A sum is order-independent, so it
    needs no sort and no row leaves the engine (10M+ rows). -#}

{#- The marts whose per-run rows the chain checksums: the one place they are listed. Each entry:
    `mart` (a table of source `published`), `run_column` (the column naming a row's run),
    `columns` (in the canonical text, in this order) and `timestamp_columns` (those of `columns`
    that are timestamps: rendered with six digits of fraction on both engines).

    Only columns that never change for a row once written go in: business values and lineage,
    never a build timestamp (quarantined_at, classified_at, built_at), so that a `dbt build
    --full-refresh` of the same raw files gives the same checksums. A column whose value is NULL
    adds nothing to the text: a column added later (the contract's optional columns, NULL on
    older rows) leaves the checksums of older runs as they were. Changing an existing entry's
    columns changes the checksums of every run recorded with them: add an entry instead.
    To add a mart: one more entry (its relation must be in source `published`). -#}
{#- fct_month_end_balance_history: the versions a run made known; known_until(_run_id) is left
    out, a later run sets it. -#}
{% macro chain_checksum_marts() %}
    {%- set optional_columns = transaction_file_columns()
        | rejectattr('required') | map(attribute='column') | list -%}
    {{ return([
        {
            'mart': 'fct_transactions',
            'run_column': 'run_id',
            'columns': [
                'transaction_id', 'account_id', 'amount', 'currency', 'transaction_ts',
                'transaction_date', 'month', 'run_id', 'source_file', 'line_number', 'landed_at',
            ] + optional_columns,
            'timestamp_columns': ['transaction_ts', 'landed_at'],
        },
        {
            'mart': 'fct_quarantined_records',
            'run_column': 'run_id',
            'columns': [
                'run_id', 'ingest_date', 'source_file', 'line_number', 'record_text',
                'record_length', 'transaction_id_raw', 'account_id_raw', 'amount_raw',
                'currency_raw', 'transaction_ts_raw', 'validation_error', 'validation_detail',
            ],
            'timestamp_columns': [],
        },
        {
            'mart': 'fct_month_end_balance_history',
            'run_column': 'known_from_run_id',
            'columns': [
                'account_id', 'currency', 'month', 'month_end', 'balance', 'tx_count',
                'known_from_run_id', 'known_from',
            ],
            'timestamp_columns': ['known_from'],
        },
    ]) }}
{% endmacro %}

{#- A row's canonical text, from the columns as text (chain_value_texts): for each column that is
    not NULL, '|name=' then the length of its text and ':' then the text (so no value can be read
    as a piece of another). -#}
{% macro chain_row_text(entry) -%}
    {%- for column in entry.columns -%}
        {%- if not loop.first %}
        || {% endif -%}
        coalesce(
            '|{{ column }}=' || cast(length({{ column }}) as varchar)
            || ':' || {{ column }},
            ''
        )
    {%- endfor -%}
{%- endmacro %}

{#- The run column (as chain_run_id) and each column of an entry as text (timestamps with six
    digits of fraction on both engines). -#}
{% macro chain_value_texts(entry) -%}
    {%- set timestamps = entry.get('timestamp_columns', []) -%}
    {{ entry.run_column }} as chain_run_id,
    {%- for column in entry.columns | reject('in', timestamps) %}
        cast({{ column }} as varchar) as {{ column }}{{ ',' if not loop.last or timestamps }}
    {%- endfor %}
    {%- for column in entry.columns | select('in', timestamps) %}
        {{ checksum_timestamp_text(column) | trim }} as {{ column }}{{ ',' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- One row per (run, mart): run_id, mart, row_count and rows_checksum (both as text, exact
    through any client). With `run_ids` (checked run_ids), those runs only, and every one of them
    in every mart (0 rows: checksum '0'); without, every run that has rows in a mart. The SQL it
    compiles to on DuckDB is sqlfluff clean (the project's rules). -#}
{% macro chain_checksums(run_ids=none) -%}
    {%- set marts = chain_checksum_marts() -%}
    {%- set listed = run_ids is not none -%}
    {%- if listed and run_ids | length == 0 -%}
        {{ exceptions.raise_compiler_error('chain_checksums: run_ids is an empty list') }}
    {%- endif -%}
with
{%- if listed %}

listed_runs as (
    select listed.run_id
    from (
        values
        {%- for run_id in run_ids %}
        ('{{ checked_run_id(run_id, "chain_checksums(run_ids)") }}'){{ ',' if not loop.last }}
        {%- endfor %}
    ) as listed (run_id)
),
{%- endif %}
{%- for entry in marts %}

{{ entry.mart }}_values as (
    select
        {{ chain_value_texts(entry) }}
    from {{ source('published', entry.mart) }}
    {%- if listed %}
    where {{ entry.run_column }} in (select listed_runs.run_id from listed_runs)
    {%- endif %}
),

{{ entry.mart }}_texts as (
    select
        chain_run_id,
        {{ chain_row_text(entry) }} as row_text
    from {{ entry.mart }}_values
),

{{ entry.mart }}_per_run as (
    select
        chain_run_id as run_id,
        count(*) as row_count,
        sum(
            cast({{ md5_prefix_60('row_text') }} as decimal(38, 0))
        ) as checksum_sum
    from {{ entry.mart }}_texts
    group by chain_run_id
),
{%- endfor %}

checksums as (
    {%- for entry in marts %}
    select
        {{ 'listed_runs' if listed else 'per_run' }}.run_id,
        '{{ entry.mart }}' as mart,
        cast(coalesce(per_run.row_count, 0) as varchar) as row_count,
        coalesce({{ decimal_as_hex('per_run.checksum_sum') }}, '0') as rows_checksum
    {%- if listed %}
    from listed_runs
    left join {{ entry.mart }}_per_run as per_run on listed_runs.run_id = per_run.run_id
    {%- else %}
    from {{ entry.mart }}_per_run as per_run
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    run_id,
    mart,
    row_count,
    rows_checksum
from checksums
{%- endmacro %}
