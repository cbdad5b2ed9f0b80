using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace HpcCampaign.Engine.Synchrotron;

/// <summary>Numbers from rsync --stats.</summary>
public sealed record RsyncStats(long FilesTotal, long FilesTransferred, long TotalBytes, long BytesTransferred);

/// <summary>One finished rsync process.</summary>
public sealed record RsyncRun(int ExitCode, IReadOnlyList<string> Output, IReadOnlyList<string> Errors, RsyncStats Stats, double Seconds)
{
    /// <summary>--itemize-changes lines that mean something would still be copied or created.</summary>
    public IEnumerable<string> PendingChanges => Output.Where(Rsync.IsItemizedChange);
}

/// <summary>
/// Builds and runs rsync over ssh. The flag set is explicit (the original's execute mode passed "-stats", which
/// rsync reads as -s -t -a -t -s: archive mode and no statistics):
/// rsync -rtP --stats --chmod=Dg+s,ug+w,o-wx,ug+X --perms --size-only --include .info --exclude '.*'
///       --partial-dir=.rsync-partial (an interrupted EPN resumes from its partial files)
/// plus --info=progress2,name2 --out-format='%i %l %n': a whole-EPN percentage (approximate while rsync's incremental
/// file list grows; --no-inc-recursive would make it exact but cost about 10 % on small EPNs), and one line per source
/// file (copied or unchanged) with its size, against which the copy is verified. stdout and stderr are
/// drained concurrently.
/// </summary>
public static partial class Rsync
{
    public const string PartialDir = ".rsync-partial";
    public static string Executable { get; set; } = "rsync";

    private static readonly string[] CommonOptions =
    {
        "--chmod=Dg+s,ug+w,o-wx,ug+X", "--perms", "--size-only", "--include", ".info", "--exclude", ".*",
    };

    /// <summary>The remote shell: ssh with the configured port and key, batch mode, only that key.</summary>
    public static string SshCommand(SynchrotronConfig config, string keyFile)
    {
        var parts = new List<string> { "ssh", "-p", config.SshPort.ToString(CultureInfo.InvariantCulture), "-i", Quote(keyFile),
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20" };
        if (config.KnownHostsFile is { } kh)
            parts.AddRange(new[] { "-o", Quote("UserKnownHostsFile=" + kh), "-o", "StrictHostKeyChecking=yes" });
        return string.Join(' ', parts);
    }

    public static string RemoteSpec(SynchrotronConfig config, string remotePath) =>
        $"{config.SshUser}@{config.Require(config.Host, "host")}:{remotePath}";

    public static List<string> TransferArguments(SynchrotronConfig config, string keyFile, string source, string destination)
    {
        var args = new List<string> { "-rtP", "--stats" };
        args.AddRange(CommonOptions);
        args.Add("--partial-dir=" + PartialDir);
        // every file of the source, copied or not, with its size: the copy is verified against this list
        args.Add("--info=progress2,name2");
        args.Add("--out-format=%i %l %n");
        if (config.RsyncBandwidthLimit > 0) args.Add("--bwlimit=" + config.RsyncBandwidthLimit.ToString(CultureInfo.InvariantCulture));
        args.Add("-e");
        args.Add(SshCommand(config, keyFile));
        args.Add(source);
        args.Add(WithSlash(destination));
        return args;
    }

    /// <summary>A dry run that lists what a transfer would change (used for -WhatIf and to verify a copy).</summary>
    public static List<string> DryRunArguments(SynchrotronConfig config, string keyFile, string source, string destination)
    {
        var args = new List<string> { "--dry-run", "--itemize-changes", "-rt", "--stats" };
        args.AddRange(CommonOptions);
        args.Add("-e");
        args.Add(SshCommand(config, keyFile));
        args.Add(source);
        args.Add(WithSlash(destination));
        return args;
    }

    /// <summary>Lists a remote folder (no destination: rsync prints one line per entry).</summary>
    public static List<string> ListArguments(SynchrotronConfig config, string keyFile, string remoteFolder) =>
        new() { "-e", SshCommand(config, keyFile), RemoteSpec(config, remoteFolder) };

    /// <summary>
    /// Checks a finished transfer against its own listing (--out-format '%i %l %n' with name2 lists every source file
    /// and its size): each regular file must exist in the destination with that size, and the listing must hold as
    /// many files as --stats counted. Returns the problems (empty = complete copy).
    /// </summary>
    public static List<string> VerifyAgainstListing(RsyncRun run, string destination)
    {
        var problems = new List<string>();
        long files = 0;
        foreach (var line in run.Output)
        {
            if (line.Length < 14 || line[1] != 'f' || line[11] != ' ' || line[0] is not ('.' or '>' or 'c' or 'h' or '<')) continue;
            var rest = line[12..];
            var space = rest.IndexOf(' ');
            if (space <= 0 || !long.TryParse(rest[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var size)) continue;
            var name = rest[(space + 1)..];
            files++;
            var local = Path.Combine(destination, name);
            if (!File.Exists(local)) problems.Add($"{name} is missing");
            else if (new FileInfo(local).Length != size) problems.Add($"{name} has {new FileInfo(local).Length} of {size} bytes");
        }
        if (files != run.Stats.FilesTotal) problems.Add($"rsync listed {files} files but counted {run.Stats.FilesTotal}");
        return problems;
    }

    internal static bool IsItemizedChange(string line) =>
        line.Length > 11 && (line[0] is '>' or '<' or 'c') && line[1] is 'f' or 'd' or 'L' or 'D' or 'S' && line[11] == ' ';

    private static string WithSlash(string dir) => dir.EndsWith('/') || dir.EndsWith('\\') ? dir : dir + "/";

    private static string Quote(string s) => s.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"') ? "'" + s.Replace("'", "'\\''") + "'" : s;

    [GeneratedRegex(@"^\s*([\d,]+)\s+(\d{1,3})%")]
    private static partial Regex ProgressLine();

    /// <summary>
    /// Runs rsync to the end. <paramref name="onProgress"/> gets the whole-transfer percentage and bytes. Cancelling
    /// sends SIGTERM (rsync then keeps its partial file in the partial dir), and SIGKILL after 10 s.
    /// </summary>
    public static async Task<RsyncRun> RunAsync(IReadOnlyList<string> args, Action<int, long>? onProgress, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        var sw = Stopwatch.StartNew();
        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new HpcException("RsyncNotFound", HpcErrorKind.ObjectNotFound,
                $"Cannot start '{Executable}': {ex.Message}. Install rsync (and ssh).", Executable, ex);
        }
        process.StandardInput.Close();
        var output = new List<string>();
        var errors = new List<string>();
        var readOut = ReadLinesAsync(process.StandardOutput, line =>
        {
            var m = ProgressLine().Match(line);
            if (m.Success)
            {
                onProgress?.Invoke(int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), ParseNumber(m.Groups[1].Value));
                return;
            }
            lock (output) output.Add(line);
        });
        var readErr = ReadLinesAsync(process.StandardError, line => { lock (errors) errors.Add(line); });
        using (ct.Register(() => Terminate(process)))
        {
            await Task.WhenAll(readOut, readErr).ConfigureAwait(false);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        sw.Stop();
        ct.ThrowIfCancellationRequested();
        return new RsyncRun(process.ExitCode, output, errors, ParseStats(output), sw.Elapsed.TotalSeconds);
    }

    /// <summary>Reads a stream as lines split at \n and \r (rsync rewrites progress lines with \r).</summary>
    private static async Task ReadLinesAsync(StreamReader reader, Action<string> onLine)
    {
        var buffer = new char[8192];
        var line = new StringBuilder();
        int n;
        while ((n = await reader.ReadAsync(buffer.AsMemory()).ConfigureAwait(false)) > 0)
        {
            for (var i = 0; i < n; i++)
            {
                var c = buffer[i];
                if (c is '\n' or '\r')
                {
                    if (line.Length > 0) onLine(line.ToString());
                    line.Clear();
                }
                else line.Append(c);
            }
        }
        if (line.Length > 0) onLine(line.ToString());
    }

    internal static RsyncStats ParseStats(IEnumerable<string> lines)
    {
        long filesTotal = 0, transferred = 0, total = 0, bytes = 0;
        foreach (var line in lines)
        {
            if (Field(line, "Number of files:") is { } nf)
            {
                var reg = Regex.Match(nf, @"reg:\s*([\d,]+)");
                filesTotal = reg.Success ? ParseNumber(reg.Groups[1].Value) : 0;
            }
            else if (Field(line, "Number of regular files transferred:") is { } t) transferred = LeadingNumber(t);
            else if (Field(line, "Total file size:") is { } ts) total = LeadingNumber(ts);
            else if (Field(line, "Total transferred file size:") is { } tt) bytes = LeadingNumber(tt);
        }
        return new RsyncStats(filesTotal, transferred, total, bytes);
    }

    private static string? Field(string line, string label) => line.StartsWith(label, StringComparison.Ordinal) ? line[label.Length..].Trim() : null;

    private static long LeadingNumber(string s)
    {
        var m = Regex.Match(s, @"^[\d,]+");
        return m.Success ? ParseNumber(m.Value) : 0;
    }

    private static long ParseNumber(string s) => long.Parse(s.Replace(",", ""), CultureInfo.InvariantCulture);

    /// <summary>
    /// Maps a failed run to a clear error: authentication, host key, unreachable host, missing source, local
    /// permission; else RsyncFailed with the exit code and rsync's last message.
    /// </summary>
    public static HpcException Classify(RsyncRun run, string epn, string source, string destination)
    {
        var text = string.Join('\n', run.Errors);
        var last = run.Errors.LastOrDefault(l => !string.IsNullOrWhiteSpace(l))?.Trim() ?? "(no message)";
        if (text.Contains("UNPROTECTED PRIVATE KEY FILE", StringComparison.Ordinal) || text.Contains("bad permissions", StringComparison.Ordinal))
            return new HpcException("KeyFilePermissionsTooOpen", HpcErrorKind.PermissionDenied,
                $"EPN {epn}: ssh ignores the key file because others can read it; run chmod 600 on the key-file.", epn);
        if (text.Contains("Permission denied (", StringComparison.Ordinal) || text.Contains("Too many authentication failures", StringComparison.Ordinal))
            return new HpcException("SshAuthenticationFailed", HpcErrorKind.AuthenticationError,
                $"EPN {epn}: the SSH server refused the key for {source}: {FirstMatch(run.Errors, "Permission denied")}", epn);
        if (text.Contains("Host key verification failed", StringComparison.Ordinal) || text.Contains("REMOTE HOST IDENTIFICATION HAS CHANGED", StringComparison.Ordinal))
            return new HpcException("HostKeyVerificationFailed", HpcErrorKind.AuthenticationError,
                $"EPN {epn}: the host key of {source} is not the known one (known-hosts-file).", epn);
        foreach (var marker in new[] { "Connection refused", "Could not resolve hostname", "No route to host", "Connection timed out", "Network is unreachable", "Name or service not known" })
            if (text.Contains(marker, StringComparison.Ordinal))
                return new HpcException("HostUnreachable", HpcErrorKind.ConnectionError,
                    $"EPN {epn}: cannot reach the SFTP host for {source}: {FirstMatch(run.Errors, marker)}", epn);
        if (run.Errors.Any(l => (l.Contains("change_dir", StringComparison.Ordinal) || l.Contains("link_stat", StringComparison.Ordinal)) &&
                                l.Contains("No such file or directory", StringComparison.Ordinal)))
            return new HpcException("SourceNotFound", HpcErrorKind.ObjectNotFound, $"EPN {epn}: {source} does not exist on the SFTP host.", epn);
        if (run.Errors.Any(l => l.Contains("Permission denied", StringComparison.Ordinal) && l.Contains(destination.TrimEnd('/'), StringComparison.Ordinal)))
            return new HpcException("DestinationNotWritable", HpcErrorKind.PermissionDenied,
                $"EPN {epn}: cannot write into {destination}: {FirstMatch(run.Errors, "Permission denied")}", epn);
        return new HpcException("RsyncFailed", HpcErrorKind.InvalidOperation, $"EPN {epn}: rsync exited with code {run.ExitCode}: {last}", epn);
    }

    private static string FirstMatch(IEnumerable<string> lines, string marker) =>
        lines.FirstOrDefault(l => l.Contains(marker, StringComparison.Ordinal))?.Trim() ?? marker;

    private static void Terminate(Process process)
    {
        try
        {
            if (process.HasExited) return;
            if (!OperatingSystem.IsWindows())
            {
                foreach (var pid in Descendants(process.Id).Prepend(process.Id)) _ = kill(pid, 15);
                _ = Task.Run(async () =>
                {
                    await Task.Delay(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                    try { if (!process.HasExited) process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                });
            }
            else process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
    }

    private static IEnumerable<int> Descendants(int pid)
    {
        var result = new List<int>();
        var queue = new Queue<int>();
        queue.Enqueue(pid);
        while (queue.Count > 0 && result.Count < 256)
        {
            var p = queue.Dequeue();
            string text;
            try { text = File.ReadAllText($"/proc/{p}/task/{p}/children"); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            foreach (var c in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                if (int.TryParse(c, out var child)) { result.Add(child); queue.Enqueue(child); }
        }
        return result;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
