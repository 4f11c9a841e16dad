#!powershell

# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

Set-StrictMode -Version 2.0

# Reads Microsoft Defender Antivirus' state for the role fleetsec.divest.defender and decides
# nothing: plugins/plugin_utils/_defender.py (controller side) says what the state means.
#
# Rules kept on purpose (the same as win_inventory_info.ps1):
# * read only: nothing is written, started or stopped, so check mode returns the same;
# * every section runs in its own try/catch: a failure is an `errors` entry, never a module
#   failure, and the section keeps its "unknown" values ($null);
# * every CIM query has a time limit ($CimTimeoutSec): a hung WMI provider fails its section;
# * registry reads use the 64-bit view on 64-bit Windows;
# * text read from the host is cleaned (control characters become spaces) and cut.

$spec = @{
    options = @{}
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$CimTimeoutSec = 30
$MaxLength = 256
$ControlCharacter = New-Object -TypeName System.Text.RegularExpressions.Regex -ArgumentList @('[\x00-\x1F\x7F]')
$RegistryView = [Microsoft.Win32.RegistryView]::Default
if ([Environment]::Is64BitOperatingSystem) {
    $RegistryView = [Microsoft.Win32.RegistryView]::Registry64
}
# EditionID of Windows 10/11 Enterprise multi-session (ProductType 3, like a server, but a client).
$MultiSessionEditions = @('ServerRdsh', 'EnterpriseMultiSession')

$info = [Ordered]@{
    os = [Ordered]@{ server = $null; build = $null; product_type = $null; multi_session = $null }
    feature = [Ordered]@{ name = $null; installed = $null }
    service = [Ordered]@{ name = 'WinDefend'; exists = $null; start_mode = $null; state = $null }
    status = $null
    policy = [Ordered]@{ ForceDefenderPassiveMode = $null; DisableAntiSpyware = $null; DisableRealtimeMonitoring = $null }
    security_center = $null
    reboot_pending = [Ordered]@{ pending = $false; sources = New-Object -TypeName System.Collections.Generic.List[String] }
    errors = New-Object -TypeName System.Collections.Generic.List[Object]
}

Function ConvertTo-DefenderText {
    <#
    .SYNOPSIS
    A value as one clean line of at most $MaxLength characters, or $null.
    #>
    param([AllowNull()][Object]$Value)

    if ($null -eq $Value) {
        return $null
    }
    $text = $ControlCharacter.Replace([String]$Value, ' ')
    if ($text.Length -gt $MaxLength) {
        $text = $text.Substring(0, $MaxLength) + '...'
    }
    $text
}

Function Invoke-DefenderSection {
    <#
    .SYNOPSIS
    Runs one section in its own try/catch; a failure becomes an `errors` entry.
    #>
    param([String]$Section, [ScriptBlock]$Collect)

    try {
        $null = & $Collect
    }
    catch {
        $info.errors.Add([Ordered]@{
                section = $Section
                message = ConvertTo-DefenderText -Value $_.Exception.Message
            })
    }
}

Function Get-DefenderCimInstance {
    <#
    .SYNOPSIS
    CIM instances of a class, waiting at most $CimTimeoutSec seconds for the provider.
    #>
    param(
        [String]$ClassName,
        [String]$Namespace = 'root\cimv2',
        [String]$Filter
    )

    try {
        if ($Filter) {
            Get-CimInstance -Namespace $Namespace -ClassName $ClassName -Filter $Filter -OperationTimeoutSec $CimTimeoutSec -ErrorAction Stop
        }
        else {
            Get-CimInstance -Namespace $Namespace -ClassName $ClassName -OperationTimeoutSec $CimTimeoutSec -ErrorAction Stop
        }
    }
    catch {
        throw "$Namespace $ClassName (time limit $CimTimeoutSec s): $($_.Exception.Message)"
    }
}

Function Test-DefenderNamespace {
    <#
    .SYNOPSIS
    Whether the CIM namespace Parent\Name exists (an absent namespace is a fact, not an error).
    #>
    param([String]$Parent, [String]$Name)

    $found = Get-DefenderCimInstance -Namespace $Parent -ClassName '__NAMESPACE' -Filter "Name = '$Name'"
    $null -ne $found
}

Function Get-DefenderProperty {
    <#
    .SYNOPSIS
    A CIM property's value, or $null when this platform version does not have the property
    (reading a missing property directly would throw under Set-StrictMode).
    #>
    param([Object]$Instance, [String]$Name)

    try {
        $property = $Instance.CimInstanceProperties[$Name]
    }
    catch {
        return $null
    }
    if ($null -eq $property) {
        return $null
    }
    $property.Value
}

Function ConvertTo-DefenderBool {
    param([AllowNull()][Object]$Value)

    if ($null -eq $Value) {
        return $null
    }
    [bool]$Value
}

Function Open-DefenderKey {
    <#
    .SYNOPSIS
    An HKLM subkey opened read-only in the native view, or $null when it does not exist.
    #>
    param([String]$SubKey)

    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, $RegistryView)
    try {
        $base.OpenSubKey($SubKey, $false)
    }
    finally {
        $base.Dispose()
    }
}

Function Get-DefenderRegistryValue {
    <#
    .SYNOPSIS
    An HKLM value as stored, or $null when the key or the value does not exist.
    #>
    param([String]$SubKey, [String]$Name)

    $key = Open-DefenderKey -SubKey $SubKey
    if ($null -eq $key) {
        return $null
    }
    try {
        $key.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    }
    finally {
        $key.Dispose()
    }
}

Function Get-DefenderPolicyNumber {
    <#
    .SYNOPSIS
    A policy value as a number (REG_DWORD, REG_QWORD or decimal text), or $null when it is
    missing or not a number.
    #>
    param([String]$SubKey, [String]$Name)

    $value = Get-DefenderRegistryValue -SubKey $SubKey -Name $Name
    if ($value -is [Int32] -or $value -is [Int64]) {
        return [Int64]$value
    }
    $number = [Int64]0
    if ($value -is [String] -and [Int64]::TryParse($value.Trim(), [ref]$number)) {
        return $number
    }
    $null
}

Function Get-DefenderOs {
    <#
    .SYNOPSIS
    Product type, build and edition from the registry (the values Win32_OperatingSystem
    reports, without a WMI round trip). Enterprise multi-session is a client.
    #>
    $os = $info.os
    $productType = Get-DefenderRegistryValue -SubKey 'SYSTEM\CurrentControlSet\Control\ProductOptions' -Name 'ProductType'
    $os.product_type = switch ([String]$productType) {
        'WinNT' {
            1
        }
        'LanmanNT' {
            2
        }
        'ServerNT' {
            3
        }
        default {
            $null
        }
    }
    $current = 'SOFTWARE\Microsoft\Windows NT\CurrentVersion'
    $build = Get-DefenderRegistryValue -SubKey $current -Name 'CurrentBuildNumber'
    if ($null -eq $build) {
        $build = Get-DefenderRegistryValue -SubKey $current -Name 'CurrentBuild'
    }
    $number = 0
    if ($null -ne $build -and [Int32]::TryParse([String]$build, [ref]$number)) {
        $os.build = $number
    }
    $edition = [String](Get-DefenderRegistryValue -SubKey $current -Name 'EditionID')
    $os.multi_session = $MultiSessionEditions -contains $edition
    if ($null -eq $os.product_type) {
        throw "ProductType not readable: '$(ConvertTo-DefenderText -Value $productType)'"
    }
    $os.server = ($os.product_type -ne 1) -and -not $os.multi_session
}

Function Get-DefenderFeature {
    <#
    .SYNOPSIS
    Windows Server only: whether the Defender feature is installed, read with the ServerManager
    module that ansible.windows.win_feature also uses. Server 2016 (build 14393) names it
    Windows-Defender-Features, later releases Windows-Defender.
    #>
    if ($info.os.server -ne $true) {
        return
    }
    $name = 'Windows-Defender'
    if ($info.os.build -eq 14393) {
        $name = 'Windows-Defender-Features'
    }
    $info.feature.name = $name
    Import-Module -Name ServerManager -ErrorAction Stop
    $feature = Get-WindowsFeature -Name $name -ErrorAction Stop | Select-Object -First 1
    if ($null -eq $feature) {
        throw "Get-WindowsFeature does not know the feature $name"
    }
    $info.feature.installed = [bool]$feature.Installed
}

Function Get-DefenderService {
    $service = Get-DefenderCimInstance -ClassName Win32_Service -Filter "Name = 'WinDefend'" | Select-Object -First 1
    $info.service.exists = $null -ne $service
    if ($null -ne $service) {
        $mode = ConvertTo-DefenderText -Value $service.StartMode
        $state = ConvertTo-DefenderText -Value $service.State
        if ($null -ne $mode) {
            $info.service.start_mode = $mode.ToLowerInvariant()
        }
        if ($null -ne $state) {
            $info.service.state = $state.ToLowerInvariant()
        }
    }
}

Function Get-DefenderStatus {
    <#
    .SYNOPSIS
    MSFT_MpComputerStatus (what Get-MpComputerStatus shows), read through CIM with a time limit.
    #>
    if (-not (Test-DefenderNamespace -Parent 'root\Microsoft\Windows' -Name 'Defender')) {
        throw 'the namespace root\Microsoft\Windows\Defender does not exist (Defender is not installed)'
    }
    $computer = Get-DefenderCimInstance -Namespace 'root\Microsoft\Windows\Defender' -ClassName MSFT_MpComputerStatus |
        Select-Object -First 1
    if ($null -eq $computer) {
        throw 'MSFT_MpComputerStatus returned nothing'
    }
    $age = Get-DefenderProperty -Instance $computer -Name 'AntivirusSignatureAge'
    if ($null -ne $age) {
        $age = [Int64]$age
    }
    $updated = Get-DefenderProperty -Instance $computer -Name 'AntivirusSignatureLastUpdated'
    if ($updated -is [DateTime]) {
        $updated = $updated.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [Globalization.CultureInfo]::InvariantCulture)
    }
    else {
        $updated = ConvertTo-DefenderText -Value $updated
    }
    $info.status = [Ordered]@{
        AMServiceEnabled = ConvertTo-DefenderBool -Value (Get-DefenderProperty -Instance $computer -Name 'AMServiceEnabled')
        AntivirusEnabled = ConvertTo-DefenderBool -Value (Get-DefenderProperty -Instance $computer -Name 'AntivirusEnabled')
        RealTimeProtectionEnabled = ConvertTo-DefenderBool -Value (Get-DefenderProperty -Instance $computer -Name 'RealTimeProtectionEnabled')
        AMRunningMode = ConvertTo-DefenderText -Value (Get-DefenderProperty -Instance $computer -Name 'AMRunningMode')
        AntivirusSignatureAge = $age
        AntivirusSignatureVersion = ConvertTo-DefenderText -Value (Get-DefenderProperty -Instance $computer -Name 'AntivirusSignatureVersion')
        AntivirusSignatureLastUpdated = $updated
        DefenderSignaturesOutOfDate = ConvertTo-DefenderBool -Value (Get-DefenderProperty -Instance $computer -Name 'DefenderSignaturesOutOfDate')
        IsTamperProtected = ConvertTo-DefenderBool -Value (Get-DefenderProperty -Instance $computer -Name 'IsTamperProtected')
        AMProductVersion = ConvertTo-DefenderText -Value (Get-DefenderProperty -Instance $computer -Name 'AMProductVersion')
    }
}

Function Get-DefenderPolicy {
    $policy = $info.policy
    $policy.ForceDefenderPassiveMode = Get-DefenderPolicyNumber -SubKey 'SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection' -Name 'ForceDefenderPassiveMode'
    $policy.DisableAntiSpyware = Get-DefenderPolicyNumber -SubKey 'SOFTWARE\Policies\Microsoft\Windows Defender' -Name 'DisableAntiSpyware'
    $policy.DisableRealtimeMonitoring = Get-DefenderPolicyNumber -SubKey 'SOFTWARE\Policies\Microsoft\Windows Defender\Real-Time Protection' -Name 'DisableRealtimeMonitoring'
}

Function Get-DefenderSecurityCenter {
    <#
    .SYNOPSIS
    Every AntiVirusProduct row of root\SecurityCenter2; $null where the namespace does not
    exist (Windows Server). Enterprise multi-session has it.
    #>
    if (-not (Test-DefenderNamespace -Parent 'root' -Name 'SecurityCenter2')) {
        return
    }
    $rows = New-Object -TypeName System.Collections.Generic.List[Object]
    foreach ($product in @(Get-DefenderCimInstance -Namespace 'root\SecurityCenter2' -ClassName AntiVirusProduct)) {
        $state = Get-DefenderProperty -Instance $product -Name 'productState'
        if ($null -ne $state) {
            $state = [Int64]$state
        }
        $rows.Add([Ordered]@{
                name = ConvertTo-DefenderText -Value (Get-DefenderProperty -Instance $product -Name 'displayName')
                product_state = $state
            })
    }
    $info.security_center = $rows
}

Function Get-DefenderRebootPending {
    $sources = $info.reboot_pending.sources
    $cbs = Open-DefenderKey -SubKey 'SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'
    if ($null -ne $cbs) {
        $cbs.Dispose()
        $sources.Add('component_based_servicing')
    }
    $wu = Open-DefenderKey -SubKey 'SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
    if ($null -ne $wu) {
        $wu.Dispose()
        $sources.Add('windows_update')
    }
    $renames = Get-DefenderRegistryValue -SubKey 'SYSTEM\CurrentControlSet\Control\Session Manager' -Name 'PendingFileRenameOperations'
    if ($null -ne $renames -and @($renames | Where-Object { $_ }).Count -gt 0) {
        $sources.Add('pending_file_rename_operations')
    }
    $info.reboot_pending.pending = $sources.Count -gt 0
}

# os first: the feature section depends on it.
Invoke-DefenderSection -Section 'os' -Collect { Get-DefenderOs }
Invoke-DefenderSection -Section 'feature' -Collect { Get-DefenderFeature }
Invoke-DefenderSection -Section 'service' -Collect { Get-DefenderService }
Invoke-DefenderSection -Section 'status' -Collect { Get-DefenderStatus }
Invoke-DefenderSection -Section 'policy' -Collect { Get-DefenderPolicy }
Invoke-DefenderSection -Section 'security_center' -Collect { Get-DefenderSecurityCenter }
Invoke-DefenderSection -Section 'reboot_pending' -Collect { Get-DefenderRebootPending }

foreach ($name in @($info.Keys)) {
    $module.Result[$name] = $info[$name]
}
$module.Result.changed = $false
$module.ExitJson()
