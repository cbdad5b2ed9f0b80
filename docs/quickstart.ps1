# Quick start on the embedded defaults: run with  dotnet run --project src/HpcCampaign.Host -- -File docs/quickstart.ps1
# Everything goes to a scratch folder; nothing outside it is touched.
$work = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'hpccampaign-quickstart-' + [System.Guid]::NewGuid().ToString('N').Substring(0, 8))
[System.IO.Directory]::CreateDirectory($work) | Out-Null
$ExecutionContext.SessionState.Path.SetLocation($work) | Out-Null
"Working in $work"

New-CampaignKey -Path ./demo.key -Note 'quick start key'
Get-CampaignKey ./demo.key | Test-CampaignKey
