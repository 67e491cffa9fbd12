#ps1_sysnative
# bms-password-escrow posted-notify v1
#
# Tells the bms-password-escrow hook that this server's Administrator password record has been
# posted, so the hook fetches, escrows and clears it at once instead of waiting for its next poll.
# A hint only: the hook trusts nothing but its own password GET, and ignores this when unsure.
#
# What it sends: {"server_id", "project_id", "timestamp", "settled", "signature"}, where
# signature is HMAC-SHA256 with the key below over "<server_id>.<project_id>.<timestamp>" (Unix
# seconds), followed by ".settled" when settled is true, lower-case hex. Never the password
# record: it only checks that the record is non-empty. "settled" says Cloudbase-Init's
# SetUserPasswordPlugin is marked done in the registry: it writes that only after the plugin
# returns (its POST retries included) and never runs a done plugin again, so this boot's
# password will not be posted a second time and the hook can stop watching for one.
#
# It never blocks the boot. Cloudbase-Init runs UserDataPlugin before SetUserPasswordPlugin in
# its default plugin order, so waiting here would hold back the very post it waits for. The work
# runs in a detached, hidden PowerShell (Start-Process shares no handles with Cloudbase-Init),
# and this script returns at once. The detached part waits up to 20 minutes for the record,
# retries the POST with backoff for 5 minutes, then gives up silently: the hook still polls.
#
# Fill in the two values (the hook URL and the per-deployment key, ESCROW_POSTED_HMAC_KEY), and
# put this file first in the server's user data, or append everything below the first line to
# your own #ps1_sysnative script. The block is self-contained (its own scope, no exit).
& {
  $HookUrl = '__HOOK_URL__'
  $HmacKey = '__HMAC_KEY__'
  # Used only when the metadata service's meta_data.json has no project_id.
  $ProjectIdFallback = '__PROJECT_ID__'

  $notify = {
    param([string]$HookUrl, [string]$HmacKey, [string]$ProjectIdFallback)
    $ErrorActionPreference = 'SilentlyContinue'
    $ProgressPreference = 'SilentlyContinue'
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
    $metadata = 'http://169.254.169.254/openstack/latest'

    # 1. Wait until our own password record is non-empty (Cloudbase-Init posted it).
    $waitUntil = (Get-Date).AddMinutes(20)
    $posted = $false
    while ((Get-Date) -lt $waitUntil) {
      try {
        $record = Invoke-WebRequest -UseBasicParsing -Uri "$metadata/password" -TimeoutSec 5
        if ($record.StatusCode -eq 200 -and ([string]$record.Content).Trim().Length -gt 0) { $posted = $true }
      } catch { }
      $record = $null
      if ($posted) { break }
      Start-Sleep -Seconds 3
    }
    if (-not $posted) { return }

    # 2. Who we are.
    try { $meta = Invoke-RestMethod -UseBasicParsing -Uri "$metadata/meta_data.json" -TimeoutSec 5 } catch { return }
    $serverId = [string]$meta.uuid
    $projectId = [string]$meta.project_id
    if (-not $projectId -and $ProjectIdFallback -notlike '__*') { $projectId = $ProjectIdFallback }
    if (-not $serverId -or -not $projectId) { return }

    # 3. Whether the password plugin is done: SetUserPasswordPlugin = 1 under Cloudbase-Init's
    #    key for this instance (its id is the server id), in either registry view (a 32-bit
    #    Cloudbase-Init writes under WOW6432Node). Usually already there when the record is; a
    #    plugin that failed never says so, so wait at most a minute, then send settled = false.
    $pluginKeys = @(
      "HKLM:\SOFTWARE\Cloudbase Solutions\Cloudbase-Init\$serverId\Plugins",
      "HKLM:\SOFTWARE\WOW6432Node\Cloudbase Solutions\Cloudbase-Init\$serverId\Plugins"
    )
    $settled = $false
    $settleUntil = (Get-Date).AddSeconds(60)
    while ($true) {
      foreach ($pluginKey in $pluginKeys) {
        $pluginStatus = (Get-ItemProperty -Path $pluginKey -Name 'SetUserPasswordPlugin' -ErrorAction SilentlyContinue).SetUserPasswordPlugin
        if ($pluginStatus -eq 1) { $settled = $true }
      }
      if ($settled -or (Get-Date) -ge $settleUntil) { break }
      Start-Sleep -Seconds 1
    }

    # 4. Sign and send; retry with backoff, then give up.
    $keyBytes = [Text.Encoding]::UTF8.GetBytes($HmacKey)
    $epoch = New-Object DateTime 1970, 1, 1, 0, 0, 0, ([DateTimeKind]::Utc)
    $delay = 2
    $giveUpAt = (Get-Date).AddMinutes(5)
    while ($true) {
      $timestamp = [int64][Math]::Floor(([DateTime]::UtcNow - $epoch).TotalSeconds)
      $message = '{0}.{1}.{2}' -f $serverId, $projectId, $timestamp
      if ($settled) { $message += '.settled' }
      $hmac = New-Object System.Security.Cryptography.HMACSHA256 -ArgumentList (, $keyBytes)
      $digest = $hmac.ComputeHash([Text.Encoding]::UTF8.GetBytes($message))
      $signature = -join ($digest | ForEach-Object { $_.ToString('x2') })
      $body = @{ server_id = $serverId; project_id = $projectId; timestamp = $timestamp; settled = $settled; signature = $signature } | ConvertTo-Json -Compress
      $status = 0
      try {
        $response = Invoke-WebRequest -UseBasicParsing -Method Post -Uri $HookUrl -ContentType 'application/json' -Body $body -TimeoutSec 10
        $status = [int]$response.StatusCode
      } catch {
        if ($_.Exception.Response) { $status = [int]$_.Exception.Response.StatusCode }
      }
      if ($status -ge 200 -and $status -lt 300) { return }
      # A refusal (a 4xx other than 408 and 429) will not change on a retry.
      if ($status -ge 400 -and $status -lt 500 -and $status -ne 408 -and $status -ne 429) { return }
      if ((Get-Date).AddSeconds($delay) -gt $giveUpAt) { return }
      Start-Sleep -Seconds $delay
      $delay = [Math]::Min($delay * 2, 60)
    }
  }

  try {
    $quoted = @($HookUrl, $HmacKey, $ProjectIdFallback) | ForEach-Object { "'" + ($_ -replace "'", "''") + "'" }
    $command = '& {' + $notify.ToString() + '} ' + ($quoted -join ' ')
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($command))
    $arguments = @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-WindowStyle', 'Hidden', '-EncodedCommand', $encoded)
    Start-Process -FilePath (Join-Path $PSHOME 'powershell.exe') -ArgumentList $arguments -WindowStyle Hidden | Out-Null
  } catch { }
}
