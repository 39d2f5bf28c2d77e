{#-
    The data lines of the files that may hold a record spanning lines (a line with an odd number
    of quotes: few files), each with the record it belongs to. A quoted field may span lines, and
    only a line with an odd number of quotes can open or close one: shaped like the start of such
    a field (a quote at the start of a field, not closed), it flips the state (outside: opens;
    inside: the field ends there); shaped only like its end (the rest of a quoted field, a quote,
    then fields), it ends an open field and opens none (outside, it is a stray quote: an error of
    its own line). Other lines keep the state. One row per line; record_key groups the lines of a
    record (NULL: the line stands alone).
-#}

with

quoted_file_lines as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        is_readable,
        line_length,
        landed_at,
        coalesce(line_text, '') as line_text
    from {{ ref('base_landing__transaction_lines') }}
    where line_number > 1 and coalesce(may_span_lines, true)
),

quote_roles as (
    select
        *,
        case
            when strpos(line_text, '"') = 0 then 'none'
            when (length(line_text) - length(replace(line_text, '"', ''))) % 2 = 0 then 'none'
            when {{ csv_opens_multiline_field('line_text') }} then 'flip'
            when coalesce({{ csv_closes_multiline_field('line_text') }}, false) then 'close'
            else 'none'
        end as quote_role
    from quoted_file_lines
),

quote_flips as (
    select
        *,
        sum(case when quote_role = 'flip' then 1 else 0 end) over (
            partition by run_id
            order by line_number
            rows between unbounded preceding and current row
        ) as flips_so_far
    from quote_roles
),

-- the state before a line: the parity of the flips since the last closing line before it (that
-- line's flip count is packed into the running maximum as its parity)
quote_closes as (
    select
        *,
        max(
            case when quote_role = 'close' then line_number * 2 + flips_so_far % 2 end
        ) over (
            partition by run_id
            order by line_number
            rows between unbounded preceding and 1 preceding
        ) as last_close_before
    from quote_flips
),

quote_states as (
    select
        *,
        (
            flips_so_far
            - case when quote_role = 'flip' then 1 else 0 end
            + coalesce(last_close_before % 2, 0)
        ) % 2 = 1 as is_inside_before
    from quote_closes
),

-- a line outside any field starts a record; the lines inside one continue it
record_starts as (
    select
        *,
        case
            when quote_role = 'close' then false
            when quote_role = 'flip' then not is_inside_before
            else is_inside_before
        end as is_inside_after,
        sum(case when is_inside_before then 0 else 1 end) over (
            partition by run_id
            order by line_number
            rows between unbounded preceding and current row
        ) as record_number
    from quote_states
),

-- a field still open at the end of the file is an unterminated quote: the lines of its record
-- stand alone (the opening line then fails to parse) so that the rest of the file is not
-- swallowed
final as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        line_text,
        is_readable,
        line_length,
        landed_at,
        is_inside_before,
        case
            when
                record_number = max(record_number) over (partition by run_id)
                and max(line_number * 2 + case when is_inside_after then 1 else 0 end) over (
                    partition by run_id
                ) % 2 = 1
                then null
            else record_number
        end as record_key
    from record_starts
)

select * from final
