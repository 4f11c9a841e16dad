#!powershell

# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

Set-StrictMode -Version 2.0

# Windows collector: gathers a raw inventory (docs/raw-inventory.md) and decides nothing.
# The vendor_facts action builds the query from the catalog; the matcher on the controller
# turns the inventory into findings. Only items that match the query are returned.
#
# Rules kept on purpose (the same as the Linux collector, plugins/module_utils/_linux_inventory.py):
# * every section runs in its own try/catch: a failure is an `errors` entry, never a module
#   failure; a section not collected on purpose is a `skipped` entry;
# * every string read from the host is hostile data: converted to a string whatever its
#   registry type, never expanded, never executed; control characters (but tab) are escaped as
#   \xNN and a string longer than $MaxLength characters is cut and marked '...[truncated]';
# * a section holds at most $MaxItems items, and at most $MaxSectionErrors failures (the rest are
#   counted in one note), so a failure of a late section (paths) is never crowded out of `errors`
#   by an early one; `errors` holds at most $MaxErrors entries; an `errors` entry says when a cap
#   was hit;
# * registry reads use explicit registry views, so a 32-bit host process sees the same as a
#   64-bit one;
# * every CIM query has a time limit ($CimTimeoutSec): a hung WMI provider fails its section;
# * every regular expression is built once, as a [Regex] object (Get-DivestQuery and the
#   constants below): .NET caches only 15 patterns of the static [Regex]:: methods, and the
#   Uninstall loop would rebuild the catalog's ~26 patterns for every entry.

$spec = @{
    options = @{
        display_names = @{ type = 'list'; elements = 'str'; default = @() }
        publishers = @{ type = 'list'; elements = 'str'; default = @() }
        services = @{ type = 'list'; elements = 'str'; default = @() }
        drivers = @{ type = 'list'; elements = 'str'; default = @() }
        processes = @{ type = 'list'; elements = 'str'; default = @() }
        security_center = @{ type = 'list'; elements = 'str'; default = @() }
        registry_keys = @{ type = 'list'; elements = 'str'; default = @() }
        paths = @{ type = 'list'; elements = 'str'; default = @() }
        certificates = @{ type = 'list'; elements = 'str'; default = @() }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$MaxLength = 512
$MaxItems = 1000
$MaxErrors = 100
$MaxSectionErrors = 8
$SectionErrors = @{}
$TruncatedMark = '...[truncated]'
$RegexOptions = [System.Text.RegularExpressions.RegexOptions]'IgnoreCase, CultureInvariant'
$RegexTimeout = [TimeSpan]::FromSeconds(2)
$CimTimeoutSec = 30
$LoneSurrogate = New-Object -TypeName System.Text.RegularExpressions.Regex -ArgumentList @(
    '[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]')
$ControlCharacter = New-Object -TypeName System.Text.RegularExpressions.Regex -ArgumentList @('[\x00-\x08\x0A-\x1F\x7F]')
$UninstallSubKey = 'SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'
$UninstallSubKey32 = 'SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
$Is64BitOS = [Environment]::Is64BitOperatingSystem

$inventory = [Ordered]@{
    schema = 1
    platform = [Ordered]@{
        system = 'Windows'
        distribution = $null
        version = $null
        product_type = $null
        edition_id = $null
        build = $null
    }
    live = $true
    skipped = New-Object -TypeName System.Collections.Generic.List[Object]
    errors = New-Object -TypeName System.Collections.Generic.List[Object]
    uninstall = New-Object -TypeName System.Collections.Generic.List[Object]
    services = New-Object -TypeName System.Collections.Generic.List[Object]
    drivers = New-Object -TypeName System.Collections.Generic.List[Object]
    security_center = New-Object -TypeName System.Collections.Generic.List[Object]
    registry_keys = New-Object -TypeName System.Collections.Generic.List[Object]
    paths = New-Object -TypeName System.Collections.Generic.List[Object]
    processes = New-Object -TypeName System.Collections.Generic.List[Object]
    certificates = New-Object -TypeName System.Collections.Generic.List[Object]
}
$counters = @{ truncated = 0 }
$dropped = @{}

Function ConvertTo-DivestString {
    <#
    .SYNOPSIS
    A value read from the host as clean text, or $null (the rules of the Linux collector's
    clean_text).
    .DESCRIPTION
    Registry values of an unexpected type are converted, never trusted: REG_DWORD and
    REG_QWORD become their unsigned decimal text, REG_MULTI_SZ its strings joined by a space,
    REG_BINARY and anything else $null. Unpaired UTF-16 surrogates (not representable in
    UTF-8) become U+FFFD. Text longer than -Limit characters is cut and ends with
    '...[truncated]' (counted for the section's `errors` note unless -Uncounted). Control
    characters but tab are escaped as \xNN.
    #>
    param(
        [AllowNull()][Object]$Value,
        [Int32]$Limit = $MaxLength,
        [Switch]$Uncounted
    )

    if ($null -eq $Value) {
        return $null
    }
    if ($Value -is [String]) {
        $text = $Value
    }
    elseif ($Value -is [String[]]) {
        $text = $Value -join ' '
    }
    elseif ($Value -is [Int32]) {
        $text = [BitConverter]::ToUInt32([BitConverter]::GetBytes($Value), 0).ToString([Globalization.CultureInfo]::InvariantCulture)
    }
    elseif ($Value -is [Int64]) {
        $text = [BitConverter]::ToUInt64([BitConverter]::GetBytes($Value), 0).ToString([Globalization.CultureInfo]::InvariantCulture)
    }
    elseif ($Value -is [UInt32] -or $Value -is [UInt64] -or $Value -is [UInt16] -or $Value -is [Int16]) {
        $text = $Value.ToString([Globalization.CultureInfo]::InvariantCulture)
    }
    else {
        return $null
    }

    $text = $LoneSurrogate.Replace($text, [String][Char]0xFFFD)
    $cut = $text.Length -gt $Limit
    if ($cut) {
        $end = $Limit
        if ([Char]::IsHighSurrogate($text[$end - 1])) {
            $end = $end - 1
        }
        $text = $text.Substring(0, $end)
        if (-not $Uncounted) {
            $counters.truncated = $counters.truncated + 1
        }
    }
    if ($ControlCharacter.IsMatch($text)) {
        $builder = New-Object -TypeName System.Text.StringBuilder -ArgumentList @($text.Length + 16)
        foreach ($char in $text.ToCharArray()) {
            $code = [Int32]$char
            if (($code -lt 32 -and $code -ne 9) -or $code -eq 127) {
                $null = $builder.AppendFormat('\x{0:x2}', $code)
            }
            else {
                $null = $builder.Append($char)
            }
        }
        $text = $builder.ToString()
    }
    if ($cut) {
        $text = $text + $TruncatedMark
    }
    $text
}

Function Test-DivestPattern {
    <#
    .SYNOPSIS
    The text of the first pattern that matches Value, or $null: the rules of
    plugins/module_utils/_patterns.py.
    .DESCRIPTION
    Pattern holds the entries Get-DivestQuery built for one option, each @{ Text; Regex }:
    * Regex set ('re:<expr>'): the .NET regular expression built once, anchored as
      \A(?:<expr>)\z for name options, unanchored for searched ones (Publisher, certificate
      subject and issuer);
    * otherwise a plain pattern: an exact name compared without case (ordinal), or with
      -Search a substring.
    #>
    param(
        [AllowNull()][Object]$Value,
        [AllowNull()][Object[]]$Pattern,
        [Switch]$Search
    )

    if ($Value -isnot [String]) {
        return $null
    }
    foreach ($entry in $Pattern) {
        if ($null -ne $entry.Regex) {
            $hit = $entry.Regex.IsMatch($Value)
        }
        elseif ($Search) {
            $hit = $Value.IndexOf($entry.Text, [StringComparison]::OrdinalIgnoreCase) -ge 0
        }
        else {
            $hit = [String]::Equals($Value, $entry.Text, [StringComparison]::OrdinalIgnoreCase)
        }
        if ($hit) {
            return $entry.Text
        }
    }
    return $null
}

Function Add-DivestError {
    <#
    .SYNOPSIS
    Record a problem of one section. -Limit marks an informational note about the output caps
    (items not returned, values cut): the section was read, so it does not make a host unknown.
    #>
    param([String]$Section, [AllowNull()][String]$Message, [Switch]$Limit)

    if (-not $Limit) {
        $seen = 0
        if ($SectionErrors.ContainsKey($Section)) {
            $seen = $SectionErrors[$Section]
        }
        $SectionErrors[$Section] = $seen + 1
        if ($seen -ge $MaxSectionErrors) {
            return
        }
    }
    $text = ConvertTo-DivestString -Value $Message -Limit (2 * $MaxLength) -Uncounted
    $inventory.errors.Add([Ordered]@{ section = $Section; message = $text; limit = [bool]$Limit })
}

Function Add-DivestSkip {
    param([String]$Section, [String]$Reason)

    $inventory.skipped.Add([Ordered]@{
            section = $Section
            reason = $Reason
        })
}

Function Add-DivestItem {
    <#
    .SYNOPSIS
    Appends one item to a section, at most $MaxItems per section; the others are counted.
    .NOTES
    tests/unit/plugins/modules/win_inventory_contract.py reads the item keys of every call from
    this file, so pass -Section as a string (or a parameter with a ValidateSet) and -Item as a
    literal [Ordered]@{...}.
    #>
    param([String]$Section, [System.Collections.IDictionary]$Item)

    $list = $inventory[$Section]
    if ($list.Count -lt $MaxItems) {
        $list.Add($Item)
    }
    else {
        $dropped[$Section] = 1 + [Int32]$dropped[$Section]
    }
}

Function Invoke-DivestSection {
    <#
    .SYNOPSIS
    Runs one section's collector in its own try/catch; a failure becomes an `errors` entry, as
    do the caps the section hit (items not returned, values truncated).
    #>
    param([String]$Section, [ScriptBlock]$Collect)

    $before = $counters.truncated
    try {
        $null = & $Collect
    }
    catch {
        Add-DivestError -Section $Section -Message $_.Exception.Message
    }
    if ($dropped.ContainsKey($Section)) {
        Add-DivestError -Section $Section -Limit -Message "$($dropped[$Section]) more items not returned (at most $MaxItems per section)"
    }
    $truncatedHere = $counters.truncated - $before
    if ($truncatedHere -gt 0) {
        Add-DivestError -Section $Section -Limit -Message "$truncatedHere values longer than $MaxLength characters were truncated"
    }
}

Function Get-DivestQuery {
    <#
    .SYNOPSIS
    The module options, read once: registry_keys and paths as arrays of strings, the pattern
    options as arrays of @{ Text; Regex } for Test-DivestPattern, each regular expression
    built here once (with the match time limit).
    .DESCRIPTION
    A regular expression is built in the form it is used in: anchored as \A(?:<expr>)\z for
    name options, so a pattern that only fails once wrapped (a '(?x)' comment swallowing the
    closing parenthesis) is caught here. A pattern .NET cannot build is left out with an
    `errors` entry of section 'query' naming the option: the rest of the query still runs,
    and the host's own data was read (the controller already checked the patterns with Python).
    #>
    $searched = @('publishers', 'certificates')
    $patternOptions = @('display_names', 'publishers', 'services', 'drivers', 'processes', 'security_center', 'certificates')
    $query = @{}
    foreach ($option in @('registry_keys', 'paths')) {
        $query[$option] = @(@($module.Params[$option]) | ForEach-Object { [String]$_ } | Where-Object { $_ -ne '' })
    }
    foreach ($option in $patternOptions) {
        $entries = New-Object -TypeName System.Collections.Generic.List[Object]
        foreach ($raw in @($module.Params[$option])) {
            $text = [String]$raw
            if ($text -eq '') {
                continue
            }
            $regex = $null
            if ($text.StartsWith('re:', [StringComparison]::Ordinal)) {
                $expr = $text.Substring(3)
                if ($searched -notcontains $option) {
                    $expr = '\A(?:' + $expr + ')\z'
                }
                try {
                    $regex = New-Object -TypeName System.Text.RegularExpressions.Regex -ArgumentList @($expr, $RegexOptions, $RegexTimeout)
                }
                catch {
                    $reason = "$($option): '$text' is not a valid .NET regular expression as used ($expr), ignored: $($_.Exception.Message)"
                    Add-DivestError -Section 'query' -Message $reason
                    continue
                }
            }
            $entries.Add(@{ Text = $text; Regex = $regex })
        }
        $query[$option] = $entries.ToArray()
    }
    $query
}

Function Get-DivestCimInstance {
    <#
    .SYNOPSIS
    CIM instances of a class, waiting at most $CimTimeoutSec seconds for the provider.
    .DESCRIPTION
    A broken WMI repository or a hung provider (SecurityCenter2) would otherwise hang the
    whole task; here it fails the one section, whose `errors` entry names the class and the
    time limit. The CIM cmdlets exist from PowerShell 3.0 on (this module needs 5.1).
    #>
    param(
        [String]$ClassName,
        [String]$Namespace = 'root\cimv2',
        [String[]]$Property,
        [String]$Filter
    )

    try {
        if ($Filter) {
            Get-CimInstance -Namespace $Namespace -ClassName $ClassName -Property $Property -Filter $Filter -OperationTimeoutSec $CimTimeoutSec -ErrorAction Stop
        }
        else {
            Get-CimInstance -Namespace $Namespace -ClassName $ClassName -Property $Property -OperationTimeoutSec $CimTimeoutSec -ErrorAction Stop
        }
    }
    catch {
        throw "$Namespace $ClassName (time limit $CimTimeoutSec s): $($_.Exception.Message)"
    }
}

Function Get-DivestRegistryString {
    <#
    .SYNOPSIS
    A registry value as stored (environment variables not expanded), converted by
    ConvertTo-DivestString; $null when missing or unreadable. Never throws.
    #>
    param([Microsoft.Win32.RegistryKey]$Key, [String]$Name)

    try {
        $value = $Key.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    }
    catch {
        return $null
    }
    ConvertTo-DivestString -Value $value
}

Function Get-DivestRegistryFlag {
    <#
    .SYNOPSIS
    A DWORD flag such as WindowsInstaller as a bool: non-zero is $true; a missing, unreadable
    or non-numeric value is $false. Never throws.
    #>
    param([Microsoft.Win32.RegistryKey]$Key, [String]$Name)

    try {
        $value = $Key.GetValue($Name, $null)
    }
    catch {
        return $false
    }
    if ($value -is [Int32] -or $value -is [Int64]) {
        return $value -ne 0
    }
    if ($value -is [String]) {
        $number = [Int64]0
        if ([Int64]::TryParse($value.Trim(), [ref]$number)) {
            return $number -ne 0
        }
    }
    return $false
}

Function Get-DivestPlatform {
    <#
    .SYNOPSIS
    Records what Windows says about itself; the controller decides what it means
    (plugins/plugin_utils/_winplatform.py: Windows 11 from the build number, Enterprise
    multi-session from edition_id although its ProductType is 3 like a server's).
    .DESCRIPTION
    Win32_OperatingSystem gives distribution (Caption), version and product_type. The registry
    (64-bit view on 64-bit Windows) gives edition_id and build, and is the fallback for the rest
    when WMI does not answer; its ProductName says "Windows 10" on Windows 11.
    #>
    $platform = $inventory.platform
    $productType = $null
    $cimError = $null
    try {
        $os = Get-DivestCimInstance -ClassName Win32_OperatingSystem -Property @('Caption', 'Version', 'ProductType', 'BuildNumber') |
            Select-Object -First 1
        if ($null -eq $os) {
            throw 'Win32_OperatingSystem returned nothing'
        }
        $caption = ConvertTo-DivestString -Value $os.Caption
        if ($caption) {
            $caption = $caption.Trim()
        }
        $platform.distribution = $caption
        $platform.version = ConvertTo-DivestString -Value $os.Version
        $platform.build = ConvertTo-DivestString -Value $os.BuildNumber
        $productType = [String]$os.ProductType
    }
    catch {
        $cimError = $_.Exception.Message
    }

    $view = [Microsoft.Win32.RegistryView]::Default
    if ($Is64BitOS) {
        $view = [Microsoft.Win32.RegistryView]::Registry64
    }
    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, $view)
    $current = $null
    $options = $null
    try {
        $current = $base.OpenSubKey('SOFTWARE\Microsoft\Windows NT\CurrentVersion')
        if ($null -ne $current) {
            $platform.edition_id = Get-DivestRegistryString -Key $current -Name 'EditionID'
            $build = Get-DivestRegistryString -Key $current -Name 'CurrentBuildNumber'
            if ($null -eq $build) {
                $build = Get-DivestRegistryString -Key $current -Name 'CurrentBuild'
            }
            if ($null -eq $platform.build) {
                $platform.build = $build
            }
        }
        if ($null -ne $cimError) {
            # WMI broken, hung or denied: the registry holds the same facts.
            $options = $base.OpenSubKey('SYSTEM\CurrentControlSet\Control\ProductOptions')
            if ($null -eq $current -or $null -eq $options) {
                throw "$cimError; the registry fallback is not readable either"
            }
            Add-DivestError -Section 'platform' -Message "read from the registry: $cimError"
            $platform.distribution = Get-DivestRegistryString -Key $current -Name 'ProductName'
            $major = Get-DivestRegistryString -Key $current -Name 'CurrentMajorVersionNumber'
            $minor = Get-DivestRegistryString -Key $current -Name 'CurrentMinorVersionNumber'
            if ($null -eq $major) {
                $release = Get-DivestRegistryString -Key $current -Name 'CurrentVersion'
            }
            else {
                $release = "$major.$minor"
            }
            $platform.version = "$release.$($platform.build)"
            $productType = switch (Get-DivestRegistryString -Key $options -Name 'ProductType') {
                'WinNT' {
                    '1'
                }
                'LanmanNT' {
                    '2'
                }
                'ServerNT' {
                    '3'
                }
                default {
                    $null
                }
            }
        }
    }
    finally {
        foreach ($key in @($options, $current, $base)) {
            if ($null -ne $key) {
                $key.Dispose()
            }
        }
    }
    # Win32_OperatingSystem.ProductType as Windows reports it: 1 workstation, 2 domain
    # controller, 3 server (also Windows 10/11 Enterprise multi-session: see edition_id).
    $platform.product_type = switch ($productType) {
        '1' {
            'workstation'
        }
        '2' {
            'domain_controller'
        }
        '3' {
            'server'
        }
        default {
            $null
        }
    }
}

Function Get-DivestUninstall {
    <#
    .SYNOPSIS
    Uninstall entries whose DisplayName matches display_names or whose Publisher matches
    publishers (searched), from HKLM in both registry views and from every loaded user hive.
    .DESCRIPTION
    `view` names the registry node the entry sits in: 64 for the native node, 32 for
    WOW6432Node (on 32-bit Windows everything is 32). User hives are not redirected, so their
    Software\WOW6432Node node, used by a few old installers, is read explicitly.
    #>
    $displayNames = $query.display_names
    $publishers = $query.publishers
    if ($displayNames.Count -eq 0 -and $publishers.Count -eq 0) {
        return
    }

    $sources = New-Object -TypeName System.Collections.Generic.List[Object]
    if ($Is64BitOS) {
        $sources.Add(@{ Hive = 'HKLM'; View = '64'; BaseHive = 'LocalMachine'; RegistryView = 'Registry64'; Path = $UninstallSubKey })
        $sources.Add(@{ Hive = 'HKLM'; View = '32'; BaseHive = 'LocalMachine'; RegistryView = 'Registry32'; Path = $UninstallSubKey })
    }
    else {
        $sources.Add(@{ Hive = 'HKLM'; View = '32'; BaseHive = 'LocalMachine'; RegistryView = 'Default'; Path = $UninstallSubKey })
    }

    $users = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::Users, [Microsoft.Win32.RegistryView]::Default)
    try {
        foreach ($sid in $users.GetSubKeyNames()) {
            # SID_Classes is the user's HKCR part, .DEFAULT the same hive as S-1-5-18.
            if ($sid.EndsWith('_Classes', [StringComparison]::OrdinalIgnoreCase) -or $sid -eq '.DEFAULT') {
                continue
            }
            if ($Is64BitOS) {
                $sources.Add(@{ Hive = 'HKU'; View = '64'; BaseHive = 'Users'; RegistryView = 'Registry64'; Path = "$sid\$UninstallSubKey" })
                $sources.Add(@{ Hive = 'HKU'; View = '32'; BaseHive = 'Users'; RegistryView = 'Registry64'; Path = "$sid\$UninstallSubKey32" })
            }
            else {
                $sources.Add(@{ Hive = 'HKU'; View = '32'; BaseHive = 'Users'; RegistryView = 'Default'; Path = "$sid\$UninstallSubKey" })
            }
        }
    }
    catch {
        Add-DivestError -Section 'uninstall' -Message "HKU: cannot list the loaded user hives: $($_.Exception.Message)"
    }
    finally {
        $users.Dispose()
    }

    foreach ($source in $sources) {
        $where = "$($source.Hive)\$($source.Path) (view $($source.View))"
        $base = $null
        $parent = $null
        try {
            $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey(
                [Microsoft.Win32.RegistryHive]$source.BaseHive, [Microsoft.Win32.RegistryView]$source.RegistryView)
            $parent = $base.OpenSubKey($source.Path)
            if ($null -eq $parent) {
                continue
            }
            $names = $parent.GetSubKeyNames()
            $failed = 0
            $firstFailure = $null
            foreach ($name in $names) {
                $entry = $null
                $mark = $counters.truncated
                try {
                    $entry = $parent.OpenSubKey($name)
                    if ($null -eq $entry) {
                        continue
                    }
                    $displayName = Get-DivestRegistryString -Key $entry -Name 'DisplayName'
                    $publisher = Get-DivestRegistryString -Key $entry -Name 'Publisher'
                    $hit = Test-DivestPattern -Value $displayName -Pattern $displayNames
                    if (-not $hit) {
                        $hit = Test-DivestPattern -Value $publisher -Pattern $publishers -Search
                    }
                    if (-not $hit) {
                        $counters.truncated = $mark  # not returned: its cut values do not count
                        continue
                    }
                    Add-DivestItem -Section 'uninstall' -Item ([Ordered]@{
                            key = ConvertTo-DivestString -Value $name
                            hive = $source.Hive
                            view = $source.View
                            DisplayName = $displayName
                            DisplayVersion = Get-DivestRegistryString -Key $entry -Name 'DisplayVersion'
                            Publisher = $publisher
                            UninstallString = Get-DivestRegistryString -Key $entry -Name 'UninstallString'
                            QuietUninstallString = Get-DivestRegistryString -Key $entry -Name 'QuietUninstallString'
                            InstallLocation = Get-DivestRegistryString -Key $entry -Name 'InstallLocation'
                            WindowsInstaller = Get-DivestRegistryFlag -Key $entry -Name 'WindowsInstaller'
                        })
                }
                catch {
                    $counters.truncated = $mark
                    $failed = $failed + 1
                    if ($null -eq $firstFailure) {
                        $firstFailure = "$($name): $($_.Exception.Message)"
                    }
                }
                finally {
                    if ($null -ne $entry) {
                        $entry.Dispose()
                    }
                }
            }
            if ($failed -gt 0) {
                Add-DivestError -Section 'uninstall' -Message "$($where): $failed of $($names.Count) entries unreadable, first: $firstFailure"
            }
        }
        catch {
            Add-DivestError -Section 'uninstall' -Message "$($where): $($_.Exception.Message)"
        }
        finally {
            if ($null -ne $parent) {
                $parent.Dispose()
            }
            if ($null -ne $base) {
                $base.Dispose()
            }
        }
    }
}

Function Get-DivestService {
    <#
    .SYNOPSIS
    Win32 services (Win32_Service) or drivers (Win32_SystemDriver) whose Name or DisplayName
    matches the patterns.
    #>
    param(
        [ValidateSet('services', 'drivers')][String]$Section,
        [String]$ClassName,
        [AllowNull()][Object[]]$Pattern
    )

    if ($Pattern.Count -eq 0) {
        return
    }
    $instances = Get-DivestCimInstance -ClassName $ClassName -Property @('Name', 'DisplayName', 'PathName', 'State', 'StartMode')
    foreach ($instance in $instances) {
        $mark = $counters.truncated
        $name = ConvertTo-DivestString -Value $instance.Name
        $displayName = ConvertTo-DivestString -Value $instance.DisplayName
        $hit = Test-DivestPattern -Value $name -Pattern $Pattern
        if (-not $hit) {
            $hit = Test-DivestPattern -Value $displayName -Pattern $Pattern
        }
        if (-not $hit) {
            $counters.truncated = $mark  # not returned: its cut values do not count
            continue
        }
        Add-DivestItem -Section $Section -Item ([Ordered]@{
                Name = $name
                DisplayName = $displayName
                PathName = ConvertTo-DivestString -Value $instance.PathName
                State = ConvertTo-DivestString -Value $instance.State
                StartMode = ConvertTo-DivestString -Value $instance.StartMode
            })
    }
}

Function Get-DivestSecurityCenter {
    <#
    .SYNOPSIS
    root\SecurityCenter2 AntiVirusProduct rows whose displayName matches.
    .DESCRIPTION
    The product type is not looked at (Enterprise multi-session says 3, like a server, and has
    Security Center): where the namespace does not exist the section is skipped. Whether that
    is expected (Windows Server) or a fault (a workstation) is the controller's decision
    (plugins/plugin_utils/_winplatform.py).
    #>
    $patterns = $query.security_center
    if ($patterns.Count -eq 0) {
        return
    }
    $namespace = Get-DivestCimInstance -Namespace 'root' -ClassName '__NAMESPACE' -Property @('Name') -Filter "Name = 'SecurityCenter2'"
    if ($null -eq $namespace) {
        Add-DivestSkip -Section 'security_center' -Reason 'the namespace root\SecurityCenter2 does not exist on this host'
        return
    }
    $properties = @('displayName', 'productState', 'pathToSignedProductExe')
    $products = Get-DivestCimInstance -Namespace 'root\SecurityCenter2' -ClassName AntiVirusProduct -Property $properties
    foreach ($product in $products) {
        $mark = $counters.truncated
        $displayName = ConvertTo-DivestString -Value $product.displayName
        if (-not (Test-DivestPattern -Value $displayName -Pattern $patterns)) {
            $counters.truncated = $mark  # not returned: its cut values do not count
            continue
        }
        $state = $null
        if ($null -ne $product.productState) {
            $state = [Int64]$product.productState
        }
        Add-DivestItem -Section 'security_center' -Item ([Ordered]@{
                displayName = $displayName
                productState = $state
                pathToSignedProductExe = ConvertTo-DivestString -Value $product.pathToSignedProductExe
            })
    }
}

Function ConvertTo-DivestGlobRegex {
    # A name glob (* and ? only; other characters literal) as an anchored regular expression.
    param([String]$Glob)

    $expr = '\A' + [Regex]::Escape($Glob).Replace('\*', '.*').Replace('\?', '.') + '\z'
    New-Object -TypeName System.Text.RegularExpressions.Regex -ArgumentList @($expr, $RegexOptions)
}

Function Get-DivestRegistryKey {
    <#
    .SYNOPSIS
    The registry keys of the query that exist. A key path is 'HKLM:\SOFTWARE\KasperskyLab'
    (also HKLM\..., HKEY_LOCAL_MACHINE\..., HKU, HKCR, HKCU); a component may hold * and ?
    wildcards, and each existing key is then reported under its real name.
    .DESCRIPTION
    Keys are opened in the 64-bit view on 64-bit Windows, so SOFTWARE\WOW6432Node\... means
    the 32-bit node whatever the bitness of the host process. A last component that exists but
    cannot be opened (access denied) is reported; a denied key on the way, or one whose
    subkeys cannot be listed, is an error entry, and its siblings of the same wildcard are
    still searched.
    #>
    $hives = @{
        HKLM = 'LocalMachine'
        HKEY_LOCAL_MACHINE = 'LocalMachine'
        HKU = 'Users'
        HKEY_USERS = 'Users'
        HKCR = 'ClassesRoot'
        HKEY_CLASSES_ROOT = 'ClassesRoot'
        HKCU = 'CurrentUser'
        HKEY_CURRENT_USER = 'CurrentUser'
    }
    $view = [Microsoft.Win32.RegistryView]::Default
    if ($Is64BitOS) {
        $view = [Microsoft.Win32.RegistryView]::Registry64
    }

    foreach ($text in $query.registry_keys) {
        $opened = New-Object -TypeName System.Collections.Generic.List[Object]
        try {
            $parts = $text.Split([Char[]]@('\'), [StringSplitOptions]::RemoveEmptyEntries)
            $prefix = $parts[0]
            $hiveName = ($prefix -replace '\ARegistry::', '').TrimEnd(':').ToUpperInvariant()
            if (-not $hives.ContainsKey($hiveName)) {
                throw "unknown registry hive '$prefix'"
            }
            $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]$hives[$hiveName], $view)
            $opened.Add($base)
            $current = @(@{ Key = $base; Path = $prefix })
            for ($i = 1; $i -lt $parts.Length; $i++) {
                $part = $parts[$i]
                $last = $i -eq $parts.Length - 1
                $glob = $null
                if ($part.Contains('*') -or $part.Contains('?')) {
                    $glob = ConvertTo-DivestGlobRegex -Glob $part
                }
                $next = New-Object -TypeName System.Collections.Generic.List[Object]
                foreach ($node in $current) {
                    $children = @($part)
                    if ($null -ne $glob) {
                        try {
                            $children = @($node.Key.GetSubKeyNames() | Where-Object { $glob.IsMatch($_) })
                        }
                        catch {
                            Add-DivestError -Section 'registry_keys' -Message "$($text): $($node.Path): cannot list subkeys: $($_.Exception.Message)"
                            continue
                        }
                    }
                    foreach ($child in $children) {
                        if ($next.Count -ge $MaxItems) {
                            break
                        }
                        $path = "$($node.Path)\$child"
                        try {
                            $key = $node.Key.OpenSubKey($child)
                        }
                        catch {
                            # Denied means it exists (a missing key opens as $null). Self-defence
                            # of a security product may deny reading its own keys.
                            if ($last) {
                                $next.Add(@{ Key = $null; Path = $path })
                            }
                            else {
                                Add-DivestError -Section 'registry_keys' -Message "$($text): $($path): $($_.Exception.Message)"
                            }
                            continue
                        }
                        if ($null -ne $key) {
                            $opened.Add($key)
                            $next.Add(@{ Key = $key; Path = $path })
                        }
                    }
                }
                $current = $next.ToArray()
            }
            foreach ($node in $current) {
                Add-DivestItem -Section 'registry_keys' -Item ([Ordered]@{
                        path = ConvertTo-DivestString -Value $node.Path
                    })
            }
        }
        catch {
            Add-DivestError -Section 'registry_keys' -Message "$($text): $($_.Exception.Message)"
        }
        finally {
            foreach ($key in $opened) {
                $key.Dispose()
            }
        }
    }
}

Function Expand-DivestPath {
    <#
    .SYNOPSIS
    Expands %VARIABLES% in a query path as a 64-bit process would see them.
    .DESCRIPTION
    A 32-bit host process on 64-bit Windows gets %ProgramFiles% = 'Program Files (x86)' and a
    System32 that is really SysWOW64; use ProgramW6432 / CommonProgramW6432 and Sysnative
    instead so that the same query finds the same files.
    #>
    param([String]$Path)

    $redirected = $Is64BitOS -and -not [Environment]::Is64BitProcess
    $ignoreCase = [System.Text.RegularExpressions.RegexOptions]::IgnoreCase
    if ($redirected) {
        if ($env:ProgramW6432) {
            $Path = [Regex]::Replace($Path, '%ProgramFiles%', $env:ProgramW6432.Replace('$', '$$'), $ignoreCase)
        }
        if ($env:CommonProgramW6432) {
            $Path = [Regex]::Replace($Path, '%CommonProgramFiles%', $env:CommonProgramW6432.Replace('$', '$$'), $ignoreCase)
        }
    }
    $Path = [Environment]::ExpandEnvironmentVariables($Path)
    if ($redirected) {
        $system32 = [Regex]::Escape((Join-Path -Path $env:SystemRoot -ChildPath 'System32'))
        $sysnative = (Join-Path -Path $env:SystemRoot -ChildPath 'Sysnative').Replace('$', '$$')
        $Path = [Regex]::Replace($Path, "\A$system32(?=\\|\z)", $sysnative, $ignoreCase)
    }
    $Path
}

Function Get-DivestPath {
    <#
    .SYNOPSIS
    Files and folders of the query that exist: {path, type, target, pattern}. Environment
    variables are expanded, wildcards (* ? [ ]) allowed; `pattern` is the query entry. A path
    that still holds an undefined %VARIABLE% after expansion is skipped without an error.
    #>
    $redirected = $Is64BitOS -and -not [Environment]::Is64BitProcess
    $sysnative = Join-Path -Path $env:SystemRoot -ChildPath 'Sysnative'
    foreach ($pattern in $query.paths) {
        try {
            $expanded = Expand-DivestPath -Path $pattern
            if ($expanded -match '%[^%\\]+%') {
                # A variable this host does not define (%ProgramFiles(x86)% on 32-bit Windows):
                # nothing can exist there.
                continue
            }
            if ($expanded -notmatch '\A([A-Za-z]:\\|\\\\)') {
                throw "not an absolute file system path: $expanded"
            }
            $lookupErrors = $null
            if ([System.Management.Automation.WildcardPattern]::ContainsWildcardCharacters($expanded)) {
                $items = @(Get-Item -Path $expanded -Force -ErrorAction SilentlyContinue -ErrorVariable lookupErrors)
            }
            elseif (Test-Path -LiteralPath $expanded) {
                $items = @(Get-Item -LiteralPath $expanded -Force -ErrorAction SilentlyContinue -ErrorVariable lookupErrors)
            }
            else {
                $items = @()
            }
            foreach ($lookupError in @($lookupErrors)) {
                if ($null -ne $lookupError -and $lookupError.CategoryInfo.Category -ne 'ObjectNotFound') {
                    Add-DivestError -Section 'paths' -Message "$($pattern): $($lookupError.Exception.Message)"
                }
            }
            foreach ($item in $items) {
                $fullName = [String]$item.FullName
                if ($redirected -and $fullName.StartsWith($sysnative, [StringComparison]::OrdinalIgnoreCase)) {
                    $fullName = (Join-Path -Path $env:SystemRoot -ChildPath 'System32') + $fullName.Substring($sysnative.Length)
                }
                # LinkType and Target open the item itself, which a security product's
                # self-defence may refuse: keep the item, say so in `error`, and go on.
                $linkType = $null
                $target = $null
                $problem = $null
                try {
                    if ($item.PSObject.Properties['LinkType']) {
                        $linkType = [String]$item.LinkType
                    }
                    if ($linkType -eq 'SymbolicLink' -or $linkType -eq 'Junction') {
                        $target = ConvertTo-DivestString -Value (@($item.Target) | Select-Object -First 1)
                    }
                }
                catch {
                    $problem = "link type or target unreadable: $($_.Exception.Message)"
                    if (([Int32]$item.Attributes -band [Int32][System.IO.FileAttributes]::ReparsePoint) -ne 0) {
                        $problem = "reparse point, $problem"
                    }
                }
                if ($linkType -eq 'SymbolicLink' -or $linkType -eq 'Junction') {
                    $type = 'link'
                }
                elseif ($item -is [System.IO.DirectoryInfo]) {
                    $type = 'directory'
                }
                elseif ($item -is [System.IO.FileInfo]) {
                    $type = 'file'
                }
                else {
                    $type = 'other'
                }
                Add-DivestItem -Section 'paths' -Item ([Ordered]@{
                        path = ConvertTo-DivestString -Value $fullName
                        type = $type
                        target = $target
                        pattern = ConvertTo-DivestString -Value $pattern
                        error = ConvertTo-DivestString -Value $problem -Uncounted
                    })
            }
        }
        catch {
            Add-DivestError -Section 'paths' -Message "$($pattern): $($_.Exception.Message)"
        }
    }
}

Function Get-DivestProcess {
    <#
    .SYNOPSIS
    Running processes (Win32_Process) whose name, extension included (avp.exe), matches.
    `path` is $null when Windows does not tell (protected processes, other users' processes
    without administrator rights).
    #>
    $patterns = $query.processes
    if ($patterns.Count -eq 0) {
        return
    }
    foreach ($process in Get-DivestCimInstance -ClassName Win32_Process -Property @('Name', 'ProcessId', 'ExecutablePath')) {
        $mark = $counters.truncated
        $name = ConvertTo-DivestString -Value $process.Name
        if (-not (Test-DivestPattern -Value $name -Pattern $patterns)) {
            $counters.truncated = $mark  # not returned: its cut values do not count
            continue
        }
        Add-DivestItem -Section 'processes' -Item ([Ordered]@{
                name = $name
                pid = [Int64]$process.ProcessId
                path = ConvertTo-DivestString -Value $process.ExecutablePath
            })
    }
}

Function Get-DivestCertificate {
    <#
    .SYNOPSIS
    Certificates in LocalMachine\Root whose Subject or Issuer matches (searched, no case).
    #>
    $patterns = $query.certificates
    if ($patterns.Count -eq 0) {
        return
    }
    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList @(
        [System.Security.Cryptography.X509Certificates.StoreName]::Root,
        [System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine)
    $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]'ReadOnly, OpenExistingOnly')
    try {
        foreach ($certificate in $store.Certificates) {
            $mark = $counters.truncated
            $subject = ConvertTo-DivestString -Value $certificate.Subject
            $issuer = ConvertTo-DivestString -Value $certificate.Issuer
            $hit = Test-DivestPattern -Value $subject -Pattern $patterns -Search
            if (-not $hit) {
                $hit = Test-DivestPattern -Value $issuer -Pattern $patterns -Search
            }
            if (-not $hit) {
                $counters.truncated = $mark  # not returned: its cut values do not count
                continue
            }
            Add-DivestItem -Section 'certificates' -Item ([Ordered]@{
                    store = 'LocalMachine\Root'
                    thumbprint = ConvertTo-DivestString -Value $certificate.Thumbprint
                    subject = $subject
                    issuer = $issuer
                })
        }
    }
    finally {
        $store.Close()
    }
}

$query = Get-DivestQuery

# Platform first: the Security Center section depends on the product type.
Invoke-DivestSection -Section 'platform' -Collect { Get-DivestPlatform }
Invoke-DivestSection -Section 'uninstall' -Collect { Get-DivestUninstall }
Invoke-DivestSection -Section 'services' -Collect {
    Get-DivestService -Section 'services' -ClassName Win32_Service -Pattern $query.services
}
Invoke-DivestSection -Section 'drivers' -Collect {
    Get-DivestService -Section 'drivers' -ClassName Win32_SystemDriver -Pattern $query.drivers
}
Invoke-DivestSection -Section 'security_center' -Collect { Get-DivestSecurityCenter }
Invoke-DivestSection -Section 'registry_keys' -Collect { Get-DivestRegistryKey }
Invoke-DivestSection -Section 'paths' -Collect { Get-DivestPath }
Invoke-DivestSection -Section 'processes' -Collect { Get-DivestProcess }
Invoke-DivestSection -Section 'certificates' -Collect { Get-DivestCertificate }

foreach ($name in @($SectionErrors.Keys | Sort-Object)) {
    if ($SectionErrors[$name] -gt $MaxSectionErrors) {
        $inventory.errors.Add([Ordered]@{
                section = $name
                message = "$($SectionErrors[$name] - $MaxSectionErrors) more failures not returned (at most $MaxSectionErrors per section)"
                limit = $true
            })
    }
}

$errorCount = $inventory.errors.Count
if ($errorCount -gt $MaxErrors) {
    $inventory.errors.RemoveRange($MaxErrors, $errorCount - $MaxErrors)
    $inventory.errors.Add([Ordered]@{
            section = 'errors'
            message = "$($errorCount - $MaxErrors) more errors not returned"
            limit = $true
        })
}

$module.Result.inventory = $inventory
$module.ExitJson()
