-- Hand-written DuckDB baseline for the benchmark (scripts/bench.py): one transactions CSV in,
-- the same three outputs as the dbt project out, written the way one would do the job by hand in
-- a single DuckDB session. It is a yardstick, not a second pipeline: it assumes what the sample
-- generator guarantees and skips what the dbt project handles for hostile files (see
-- docs/benchmarks.md, "What the baseline skips").
--
-- Variables (SET VARIABLE before running the script):
--   input_path       the CSV file (header in contract order, one record per physical line)
--   currencies_path  the ISO-4217 allowlist (seeds/iso_4217_currencies.csv)
--
-- Outputs, tables in the connected database:
--   processed_transactions, quarantine_transactions, month_end_balances

set timezone = 'UTC';

create or replace temp table currencies as
select distinct upper(trim(currency_code)) as currency_code
from read_csv(getvariable('currencies_path'), header = true, all_varchar = true);

-- One row per record, trimmed and typed, with one flag per row-level validation code (spec
-- order). A sixth column catches records with too many fields, NULL in the fifth means too few
-- (empty fields read as '' because nullstr is a byte that never occurs).
create or replace temp table checked as
with

records as (
    select
        cast(lines.ordinality + 1 as bigint) as line_number,
        lines.transaction_id as transaction_id_raw,
        lines.customer_id as customer_id_raw,
        lines.transaction_amount as transaction_amount_raw,
        lines.currency as currency_raw,
        lines.transaction_timestamp as transaction_timestamp_raw,
        lines.extra_field is not null or lines.transaction_timestamp is null as has_schema_error
    from read_csv(
        getvariable('input_path'),
        header = false,
        skip = 1,
        auto_detect = false,
        delim = ',',
        quote = '"',
        escape = '"',
        null_padding = true,
        strict_mode = false,
        nullstr = chr(0),
        columns = {
            'transaction_id': 'varchar',
            'customer_id': 'varchar',
            'transaction_amount': 'varchar',
            'currency': 'varchar',
            'transaction_timestamp': 'varchar',
            'extra_field': 'varchar'
        }
    ) with ordinality as lines
),

trimmed as (
    select
        *,
        nullif(trim(transaction_id_raw, ' ' || chr(9)), '') as transaction_id,
        nullif(trim(customer_id_raw, ' ' || chr(9)), '') as account_id,
        nullif(trim(transaction_amount_raw, ' ' || chr(9)), '') as amount_text,
        upper(nullif(trim(currency_raw, ' ' || chr(9)), '')) as currency,
        nullif(trim(transaction_timestamp_raw, ' ' || chr(9)), '') as timestamp_text
    from records
),

typed as (
    select
        *,
        case
            when regexp_full_match(amount_text, '[+-]?0*[0-9]{1,16}(\.[0-9]{1,2}0*)?')
                then cast(amount_text as decimal(18, 2))
        end as amount,
        case
            when regexp_full_match(
                timestamp_text,
                '[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?'
                || '(Z|[+-][0-9]{2}(:?[0-9]{2})?)?'
            )
                then cast(try_cast(timestamp_text as timestamptz) as timestamp)
        end as transaction_ts
    from trimmed
),

flagged as (
    select
        typed.*,
        not has_schema_error and (
            transaction_id is null
            or account_id is null
            or amount_text is null
            or currency is null
            or timestamp_text is null
        ) as has_null_value_error,
        not has_schema_error and amount_text is not null and amount is null as has_type_error,
        not has_schema_error
        and typed.currency is not null
        and currencies.currency_code is null as has_currency_error,
        not has_schema_error and timestamp_text is not null and (
            transaction_ts is null or transaction_ts > cast(now() as timestamp)
        ) as has_timestamp_error
    from typed
    left join currencies on typed.currency = currencies.currency_code
)

select
    line_number,
    transaction_id_raw,
    customer_id_raw,
    transaction_amount_raw,
    currency_raw,
    transaction_timestamp_raw,
    transaction_id,
    account_id,
    amount,
    currency,
    transaction_ts,
    nullif(concat_ws(',',
        case when has_schema_error then 'SCHEMA_ERROR' end,
        case when has_null_value_error then 'NULL_VALUE_ERROR' end,
        case when has_type_error then 'TYPE_ERROR' end,
        case when has_currency_error then 'CURRENCY_ERROR' end,
        case when has_timestamp_error then 'TIMESTAMP_ERROR' end
    ), '') as row_error
from flagged;

-- Duplicate rules, needed only for ids that occur more than once (about 1 % of the records):
-- the first valid version of an id (file order) wins, a later valid copy with the same typed
-- content is an exact duplicate, any other later record with that id conflicts.
-- Every other record is accepted when it passed the row-level rules, else quarantined.
create or replace temp table repeated_decisions as
with

repeated as (
    select *
    from checked
    where transaction_id in (
        select transaction_id
        from checked
        where transaction_id is not null
        group by transaction_id
        having count(*) > 1
    )
),

winners as (
    select
        transaction_id,
        line_number as winner_line,
        account_id,
        amount,
        currency,
        transaction_ts
    from repeated
    where row_error is null
    qualify row_number() over (partition by transaction_id order by line_number) = 1
),

compared as (
    select
        repeated.line_number,
        repeated.row_error,
        coalesce(repeated.line_number = winners.winner_line, false) as is_winner,
        coalesce(repeated.line_number > winners.winner_line, false) as follows_winner,
        coalesce(
            repeated.account_id = winners.account_id
            and repeated.amount = winners.amount
            and repeated.currency = winners.currency
            and repeated.transaction_ts = winners.transaction_ts,
            false
        ) as has_same_content
    from repeated
    left join winners on repeated.transaction_id = winners.transaction_id
)

select
    line_number,
    case
        when row_error is null and is_winner then 'accepted'
        when row_error is null and has_same_content then 'duplicate'
        else 'quarantined'
    end as record_status,
    nullif(concat_ws(',',
        row_error,
        case
            when follows_winner and not (row_error is null and has_same_content)
                then 'DUPLICATE_CONFLICT'
        end
    ), '') as validation_error
from compared;

-- a view: each output scans the checked records once, joined to the few decisions above
create or replace temp view classified as
select
    checked.*,
    coalesce(
        decided.record_status,
        case when checked.row_error is null then 'accepted' else 'quarantined' end
    ) as record_status,
    coalesce(decided.validation_error, checked.row_error) as validation_error
from checked
left join repeated_decisions as decided on checked.line_number = decided.line_number;

create or replace table processed_transactions as
select
    transaction_id,
    account_id,
    amount,
    currency,
    transaction_ts,
    cast(transaction_ts as date) as transaction_date,
    cast(year(transaction_ts) as integer) as year,
    cast(month(transaction_ts) as integer) as month,
    line_number
from classified
where record_status = 'accepted';

create or replace table quarantine_transactions as
select
    line_number,
    transaction_id_raw as transaction_id,
    customer_id_raw as customer_id,
    transaction_amount_raw as transaction_amount,
    currency_raw as currency,
    transaction_timestamp_raw as transaction_timestamp,
    validation_error
from classified
where record_status = 'quarantined';

-- Month-end balances: account-month sums on an account x month spine (first to last month in
-- the data), running sums over it. balance is NULL in a month without transactions,
-- closing_balance carries forward and is NULL until the account's first transaction.
create or replace table month_end_balances as
with

account_months as (
    select
        account_id,
        currency,
        cast(date_trunc('month', transaction_ts) as date) as month_start,
        sum(amount) as net_amount,
        count(*) as tx_count
    from processed_transactions
    group by all
),

months as (
    select cast(unnest(generate_series(
        cast(min(month_start) as timestamp), cast(max(month_start) as timestamp), interval 1 month
    )) as date) as month_start
    from account_months
),

spine as (
    select
        accounts.account_id,
        accounts.currency,
        months.month_start,
        coalesce(account_months.net_amount, 0) as net_amount,
        coalesce(account_months.tx_count, 0) as tx_count
    from (select distinct account_id, currency from account_months) as accounts
    cross join months
    left join account_months
        on
            accounts.account_id = account_months.account_id
            and accounts.currency = account_months.currency
            and months.month_start = account_months.month_start
),

running as (
    select
        *,
        sum(net_amount) over account_history as running_amount,
        sum(tx_count) over account_history as running_tx_count
    from spine
    window account_history as (
        partition by account_id, currency
        order by month_start
        rows between unbounded preceding and current row
    )
)

select
    account_id,
    currency,
    strftime(month_start, '%Y-%m') as month,
    last_day(month_start) as month_end,
    case when tx_count > 0 then running_amount end as balance,
    case when running_tx_count > 0 then running_amount end as closing_balance,
    tx_count
from running;
