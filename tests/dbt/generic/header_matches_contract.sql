{#- Schema-drift alert: every landed file whose header does not match the file contract (the
    loader's check, recorded in its manifest as header_matches_contract with the header's
    fingerprint), among the runs alert_scope() judges (`alert`: the alert's name in
    acknowledgements). Each failure row names the run and the file. -#}
{% test header_matches_contract(model, alert, file_column='source_file') %}
    select
        run_id,
        {{ file_column }} as source_file,
        header_fingerprint,
        case
            when header_fingerprint is null then 'no readable header'
            else 'header differs from the contract'
        end as drift
    from {{ model }}
    where
        not coalesce(header_matches_contract, false)
        and {{ alert_scope(model, alert) }}
{% endtest %}
