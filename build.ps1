#requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests or packages HpcCampaign (the pwsh twin of the bash entry points).
.EXAMPLE
    ./build.ps1 -Task Build
.EXAMPLE
    ./build.ps1 -Task Test        # tests/run.sh (real servers) + Pester suites when Pester 5 is installed
.EXAMPLE
    ./build.ps1 -Task Package     # out/HpcCampaign/<version>/ : an installable, nupkg-ready module folder
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package')]
    [string] $Task = 'Build',
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug'
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot

function Invoke-Native([string] $File, [string[]] $Arguments) {
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Invoke-Build {
    Invoke-Native dotnet @('build', 'HpcCampaign.sln', '-c', $Configuration, '-nologo')
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' {
        Invoke-Native bash @('tests/run.sh')
        $pester = Get-Module -ListAvailable Pester | Where-Object Version -ge '5.0' | Select-Object -First 1
        if ($pester) {
            $env:HPCC_MODULE_MANIFEST = Join-Path $PSScriptRoot 'HpcCampaign.psd1'
            # a binary module cannot be unloaded: run Pester in a fresh process
            Invoke-Native pwsh @('-NoProfile', '-Command', "Import-Module Pester -MinimumVersion 5.0; `$r = Invoke-Pester -Path tests/pester -PassThru; exit `$r.FailedCount")
        }
        else { Write-Warning 'Pester 5 is not installed: skipped tests/pester (the xunit suites ran).' }
    }
    'Package' {
        $Configuration = 'Release'
        Invoke-Build
        $version = (Import-PowerShellDataFile ./HpcCampaign.psd1).ModuleVersion
        $dest = Join-Path $PSScriptRoot "out/HpcCampaign/$version"
        if (Test-Path $dest) { Remove-Item $dest -Recurse -Force }
        New-Item -ItemType Directory $dest | Out-Null
        Copy-Item HpcCampaign.psd1, README.md -Destination $dest
        Copy-Item module, formats, en-US -Destination $dest -Recurse
        if (Test-Path docs/en-US) { Copy-Item docs -Destination $dest -Recurse }
        Test-ModuleManifest (Join-Path $dest 'HpcCampaign.psd1') | Out-Null
        Invoke-Native dotnet @('publish', 'src/HpcCampaign.Host', '-c', 'Release', '-o', (Join-Path $PSScriptRoot "out/hpcc"), '-nologo')
        Write-Host "Module: $dest"
        Write-Host "hpcc:   $(Join-Path $PSScriptRoot 'out/hpcc')"
    }
}
