{{ files_contract_fx_rates('demo') }}
