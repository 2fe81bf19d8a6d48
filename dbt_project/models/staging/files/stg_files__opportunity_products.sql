{{ files_contract_opportunity_products('files') }}
