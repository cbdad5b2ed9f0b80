using System.Diagnostics;

namespace HpcCampaign.Engine.Common;

/// <summary>
/// What the Register-* cmdlets share: where systemd user units live, running systemctl/schtasks with a time limit
/// and a clear error, and quoting a value for a PowerShell command line inside a unit or task.
/// </summary>
public static class ServiceManager
{
    /// <summary>$XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user.</summary>
    public static string SystemdUserDirectory =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } x ? x : Path.Combine(Config.ConfigPaths.Home, ".config"),
            "systemd", "user");

    /// <summary>A single-quoted PowerShell string literal.</summary>
    public static string PsQuote(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>systemd treats % as a specifier: doubled, so the command line reaches the program as written.</summary>
    public static string SystemdEscapePercent(string s) => s.Replace("%", "%%", StringComparison.Ordinal);

    /// <summary>
    /// Runs systemctl/schtasks (arguments passed without a shell), waits at most 60 s. A non-zero exit or a missing
    /// program is <paramref name="errorId"/> unless <paramref name="ignoreFailure"/>.
    /// </summary>
    public static void Run(string exe, IEnumerable<string> args, string errorId, bool ignoreFailure = false)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var shown = $"{exe} {string.Join(' ', psi.ArgumentList)}";
        try
        {
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(60_000))
            {
                p.Kill(entireProcessTree: true);
                throw new HpcException(errorId, HpcErrorKind.OperationTimeout, $"'{shown}' did not finish in 60 s.", exe);
            }
            if (p.ExitCode != 0 && !ignoreFailure)
                throw new HpcException(errorId, HpcErrorKind.InvalidOperation, $"'{shown}' failed ({p.ExitCode}): {stderr.Result.Trim()}", exe);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            if (!ignoreFailure)
                throw new HpcException(errorId, HpcErrorKind.ObjectNotFound, $"Cannot run '{exe}': {ex.Message}", exe, ex);
        }
    }
}
