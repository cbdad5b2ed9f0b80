# Pester 5 suite for the campaign connector cmdlets (run in a fresh pwsh: Invoke-Pester tests/pester/Connector.Tests.ps1).
# Needs no server: it serves the fixture key and checks the protocol's error replies.
BeforeAll {
    $repo = (Resolve-Path "$PSScriptRoot/../..").Path
    $env:HPCCAMPAIGN_CONFIG_PATH = Join-Path $TestDrive 'config'
    Import-Module (Join-Path $repo 'HpcCampaign.psd1') -Force

    function Get-FreePort {
        $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $l.Start(); $p = $l.LocalEndpoint.Port; $l.Stop(); $p
    }
    function Invoke-ConnectorRequest([int] $Port, [string] $Request) {
        $client = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $Port)
        try {
            $stream = $client.GetStream()
            $bytes = [System.Text.Encoding]::ASCII.GetBytes($Request)
            $stream.Write($bytes, 0, $bytes.Length)
            $reader = [System.IO.StreamReader]::new($stream)
            $reader.ReadToEnd()
        } finally { $client.Dispose() }
    }
    $keys = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'keys')
    $fixtures = if ($env:HPCC_FIXTURES) { $env:HPCC_FIXTURES } else { Join-Path $repo '../shared/fixtures' }
    Copy-Item (Join-Path $fixtures 'campaign/demo.key') $keys
    $hosts = Join-Path $TestDrive 'hosts.yaml'
    Set-Content -Path $hosts -Value 'here: local'
}

Describe 'Start-CampaignConnector' -Tag 'CI' {
    It 'does nothing with -WhatIf' {
        $port = Get-FreePort
        Start-CampaignConnector -Port $port -HostsFile $hosts -KeysDirectory $keys.FullName -AsJob -WhatIf | Should -BeNullOrEmpty
        Get-CampaignConnector | Where-Object Port -eq $port | Should -BeNullOrEmpty
    }

    It 'reports a busy port with ConnectorPortInUse' {
        $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $l.Start()
        try {
            Start-CampaignConnector -Port $l.LocalEndpoint.Port -HostsFile $hosts -KeysDirectory $keys.FullName -AsJob -ErrorVariable err -ErrorAction SilentlyContinue |
                Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeExactly 'ConnectorPortInUse,HpcCampaign.Commands.Connector.StartCampaignConnectorCommand'
        } finally { $l.Stop() }
    }
}

Describe 'Campaign connector as a job' -Tag 'CI' {
    BeforeAll {
        $port = Get-FreePort
        $job = Start-CampaignConnector -Port $port -HostsFile $hosts -KeysDirectory $keys.FullName -AsJob
    }
    AfterAll {
        Stop-CampaignConnector -Port $port -ErrorAction SilentlyContinue
        $job | Remove-Job -Force -ErrorAction SilentlyContinue
    }

    It 'returns a running job' {
        $job.State | Should -Be 'Running'
        $job.Name | Should -Be "CampaignConnector-$port"
    }

    It 'serves the key by id and nothing else' {
        Invoke-ConnectorRequest $port '/get_key?id=9d137a56f6884765942bfd88a47063ab' |
            Should -BeExactly 'key:4f1b4d9c976a301f6e867f9881e5955cd737000a66ad755003c6ff0f157b89b5,msg:no_error'
        Invoke-ConnectorRequest $port '/get_key?id=00000000000000000000000000000000' | Should -BeExactly 'key:0,msg:cannot_find_key_id'
    }

    It 'answers malformed requests and keeps running' {
        Invoke-ConnectorRequest $port 'garbage' | Should -BeExactly 'port:-1,msg:incorrect_request_format'
        Invoke-ConnectorRequest $port '/run_service?group=nowhere&service=x' | Should -BeExactly 'port:-1,msg:no_matching_group_or_service_in_config_file'
        $job.State | Should -Be 'Running'
    }

    It 'is shown by Get-CampaignConnector with key ids only' {
        $c = Get-CampaignConnector -Port $port
        $c.State | Should -Be 'Running'
        $c.Address | Should -Be '127.0.0.1'
        $c.KeyIds | Should -Be @('9d137a56f6884765942bfd88a47063ab')
        ($c | Format-Table | Out-String) | Should -Match "$port"
    }

    It 'stops with Stop-CampaignConnector and the job completes' {
        Stop-CampaignConnector -Port $port -WhatIf
        (Get-CampaignConnector -Port $port).State | Should -Be 'Running'
        Get-CampaignConnector -Port $port | Stop-CampaignConnector
        $job | Wait-Job -Timeout 30 | Out-Null
        $job.State | Should -Be 'Completed'
        Get-CampaignConnector -Port $port -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeExactly 'ConnectorNotFound,HpcCampaign.Commands.Connector.GetCampaignConnectorCommand'
    }
}
