{{ files_contract_opportunities('files') }}
