{#- DuckDB (local): the raw relations are views over the landed files, read in place with
    DuckDB's readers (create_raw_relations.sql says what each relation holds). -#}
{% macro duckdb__create_raw_relations() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set root = raw_transactions_root() -%}
    {%- if modules.re.search("['*?\\[\\]{}]", root) -%}
        {{ exceptions.raise_compiler_error(
            "lake_root must not contain a quote or a glob character (* ? [ ] { }): " ~ root
        ) }}
    {%- endif -%}
    {%- set schema = source('landing', 'transaction_lines').schema -%}
    {%- set manifest_glob = root ~ '/ingest_date=*/run_id=*/_manifest.json' -%}
    {%- set found = run_query("select count(*) from glob('" ~ manifest_glob ~ "')").columns[0].values()[0] -%}
    {%- set acknowledgement_glob = lake_root_path() ~ '/' ~ acknowledgements_folder() ~ '/*.json' -%}
    {%- set acknowledged = run_query(
        "select count(*) from glob('" ~ acknowledgement_glob ~ "')"
    ).columns[0].values()[0] -%}
    {%- set decision_glob = lake_root_path() ~ '/' ~ quarantine_decisions_folder() ~ '/*.csv' -%}
    {%- set decided = run_query(
        "select count(*) from glob('" ~ decision_glob ~ "')"
    ).columns[0].values()[0] -%}
    {%- set runs = [] -%}
    {%- if found > 0 -%}
        {%- set runs = run_query(
            "select run_id, cast(ingest_date as varchar) as ingest_date, file_name,"
            ~ " utf8_valid and not coalesce(contains_soh, false)"
            ~ " and coalesce(line_endings, 'mixed') <> 'mixed' as is_line_readable,"
            ~ " coalesce(odd_quote_lines, 1) > 0 as may_span_lines,"
            ~ " line_size_bound, line_text_limit"
            ~ " from (" ~ duckdb__raw_manifest_select(manifest_glob) ~ ") order by run_id"
        ).rows -%}
    {%- endif -%}
    {%- if runs | length == 0 -%}
        {%- do warn_nothing_landed(
            root,
            'lakehouse land --lake-root ' ~ root.rsplit('/raw/transactions', 1)[0]
            ~ ' FILE.csv'
        ) -%}
    {%- endif -%}
    create schema if not exists {{ schema }};
    create or replace view {{ schema }}.transaction_manifests as
    {% if runs | length > 0 -%}
        {{ duckdb__raw_manifest_select(manifest_glob) }}
    {%- else -%}
        {{ duckdb__raw_manifest_select(none) }}
    {%- endif %};
    create or replace view {{ schema }}.alert_acknowledgements as
    {{ duckdb__acknowledgements_select(acknowledgement_glob if acknowledged > 0 else none) }};
    create or replace view {{ schema }}.quarantine_decisions as
    {{ duckdb__quarantine_decisions_select(decision_glob if decided > 0 else none) }};
    create or replace view {{ schema }}.transaction_lines as
    {% for run in runs -%}
        {%- do validate_landed_run(run) -%}
        {%- set path = root ~ '/ingest_date=' ~ run[1] ~ '/run_id=' ~ run[0] ~ '/' ~ run[2] -%}
        {{ duckdb__raw_lines_select(run, path) }}
        {%- if not loop.last %}
    union all
        {% endif -%}
    {%- else -%}
        select
            cast(null as varchar) as run_id,
            cast(null as date) as ingest_date,
            cast(null as varchar) as source_file,
            cast(null as bigint) as line_number,
            cast(null as varchar) as line_text,
            cast(null as boolean) as is_readable,
            cast(null as boolean) as may_span_lines,
            cast(null as bigint) as line_length
        where false
    {%- endfor %};
{% endmacro %}

{% macro duckdb__raw_manifest_select(manifest_glob) -%}
    {%- set columns = {
        'run_id': 'varchar', 'ingest_date': 'date', 'landed_at': 'timestamp',
        'source_path': 'varchar', 'file_name': 'varchar', 'bytes': 'bigint', 'sha256': 'varchar',
        'line_count': 'bigint', 'header': 'varchar', 'header_matches_contract': 'boolean',
        'header_fingerprint': 'varchar', 'utf8_valid': 'boolean',
        'contains_soh': 'boolean', 'odd_quote_lines': 'bigint', 'line_endings': 'varchar',
        'physical_lines': 'bigint', 'line_size_bound': 'bigint', 'line_text_limit': 'bigint',
        'contract_version': 'varchar',
    } -%}
    {%- if manifest_glob is none -%}
        select
        {%- for name, type in columns.items() %}
            cast(null as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
        where false
    {%- else -%}
        select
        {%- for name in columns %}
            {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
        from read_json(
            '{{ manifest_glob }}',
            format = 'unstructured',
            columns = { {%- for name, type in columns.items() -%}
                '{{ name }}': '{{ type }}'{{ ', ' if not loop.last }}
            {%- endfor -%} }
        )
    {%- endif -%}
{%- endmacro %}

{#- The acknowledgement files (one JSON object each), with the file's name; no file: no row. -#}
{% macro duckdb__acknowledgements_select(acknowledgement_glob) -%}
    {%- set columns = {
        'alert': 'varchar', 'run_id': 'varchar', 'acknowledged_by': 'varchar',
        'acknowledged_at': 'timestamp', 'reason': 'varchar',
    } -%}
    {%- if acknowledgement_glob is none -%}
        select
        {%- for name, type in columns.items() %}
            cast(null as {{ type }}) as {{ name }},
        {%- endfor %}
            cast(null as varchar) as file_name
        where false
    {%- else -%}
        select
        {%- for name in columns %}
            {{ name }},
        {%- endfor %}
            parse_filename(filename) as file_name
        from read_json(
            '{{ acknowledgement_glob }}',
            format = 'unstructured',
            filename = true,
            columns = { {%- for name, type in columns.items() -%}
                '{{ name }}': '{{ type }}'{{ ', ' if not loop.last }}
            {%- endfor -%} }
        )
    {%- endif -%}
{%- endmacro %}

{#- The quarantine decision files (a header and one row each, every value text), with the
    file's name; no file: no row. Names that start with _ or . are skipped, as Athena's reader
    skips them, so a file Athena would not read is not read here either. -#}
{% macro duckdb__quarantine_decisions_select(decision_glob) -%}
    {%- set columns = quarantine_decision_columns() -%}
    {%- if decision_glob is none -%}
        select
        {%- for name in columns %}
            cast(null as varchar) as {{ name }},
        {%- endfor %}
            cast(null as varchar) as file_name
        where false
    {%- else -%}
        select
        {%- for name in columns %}
            {{ name }},
        {%- endfor %}
            parse_filename(filename) as file_name
        from read_csv(
            '{{ decision_glob }}',
            header = true,
            auto_detect = false,
            delim = ',',
            quote = '"',
            escape = '"',
            filename = true,
            strict_mode = false,
            null_padding = true,
            columns = { {%- for name in columns -%}
                '{{ name }}': 'varchar'{{ ', ' if not loop.last }}
            {%- endfor -%} }
        )
        where not regexp_matches(parse_filename(filename), '^[._]')
    {%- endif -%}
{%- endmacro %}

{#- One landed file as lines. Files the CSV reader can take go through it in line mode: a single
    column, no quote, no escape, U+0001 as delimiter, so each physical line is one value (blank
    lines included) and WITH ORDINALITY numbers them. The reader cannot take a file that is not
    valid UTF-8 (it aborts), that contains U+0001 (it would cut the line there) or that mixes line
    endings (after an LF line it reads CRLF as two breaks): the loader's manifest says which files
    those are, and they are split from their bytes instead, on CRLF, LF or a bare CR like the
    reader - slower, but no line is lost and bad lines keep a readable, escaped text. -#}
{% macro duckdb__raw_lines_select(run, path) -%}
    {%- set limit = run[6] | int if run[6] is not none else none -%}
    {%- if limit is none %}
        select *, length(line_text) as line_length
        from ({{ duckdb__raw_file_lines(run, path) }})
    {%- else %}
        {#- the first line_text_limit characters of a line (the loader's bound, recorded in the
            manifest; the S3 loader's line index keeps the same), its full length beside them; a
            cut line is not readable, so staging quarantines it -#}
        select
            run_id,
            ingest_date,
            source_file,
            line_number,
            substring(line_text, 1, {{ limit }}) as line_text,
            is_readable and coalesce(length(line_text), 0) <= {{ limit }} as is_readable,
            may_span_lines,
            length(line_text) as line_length
        from ({{ duckdb__raw_file_lines(run, path) }})
    {%- endif %}
{%- endmacro %}

{% macro duckdb__raw_file_lines(run, path) -%}
    {%- set run_id, ingest_date, file_name, is_line_readable = run[0], run[1], run[2], run[3] -%}
    {#- a file without a line holding an odd number of double quotes (the manifest says; older
        manifests: assume it has one) cannot hold a multi-line record: staging skips the
        quoted-span search for it -#}
    {%- set may_span_lines = 'true' if run[4] else 'false' -%}
    {%- set line_size_bound = run[5] | int if run[5] is not none else none -%}
    {%- if is_line_readable -%}
        select
            '{{ run_id }}' as run_id,
            date '{{ ingest_date }}' as ingest_date,
            '{{ file_name }}' as source_file,
            cast(lines.ordinality as bigint) as line_number,
            lines.line as line_text,
            true as is_readable,
            {{ may_span_lines }} as may_span_lines
        from read_csv(
            '{{ path }}',
            columns = {'line': 'varchar'},
            header = false,
            auto_detect = false,
            delim = chr(1),
            quote = '',
            escape = '',
            {%- if line_size_bound is not none %}
            {#- the reader's default (2 MB) would fail on a longer line, or drop a long last
                line without a word: the loader measured the file's lines -#}
            max_line_size = {{ [line_size_bound + 2, 2097152] | max }},
            {%- endif %}
            strict_mode = false
        ) with ordinality as lines
    {%- else -%}
        select
            '{{ run_id }}' as run_id,
            date '{{ ingest_date }}' as ingest_date,
            '{{ file_name }}' as source_file,
            cast(line_number as bigint) as line_number,
            {#- an invalid line keeps \xNN for the bytes that are not UTF-8; quote, apostrophe
                and backslash are given back (backslash last: the text never holds a bare one) -#}
            coalesce(
                try(decode(cast(escaped as blob))),
                replace(replace(replace(escaped, '\x22', '"'), '\x27', ''''), '\x5C', '\')
            ) as line_text,
            try(decode(cast(escaped as blob))) is not null as is_readable,
            {{ may_span_lines }} as may_span_lines
        from (
            select
                unnest(pieces) as piece,
                generate_subscripts(pieces, 1) as line_number,
                len(pieces) as piece_count
            from (
                select string_split_regex(
                    cast(content as varchar), '\\x0D\\x0A|\\x0A|\\x0D'
                ) as pieces
                from read_blob('{{ path }}')
            )
        ),
        lateral (
            select
                case
                    when line_number = 1 then regexp_replace(piece, '^\\xEF\\xBB\\xBF', '')
                    else piece
                end as escaped
        )
        where not (line_number = piece_count and piece = '')
    {%- endif -%}
{%- endmacro %}
