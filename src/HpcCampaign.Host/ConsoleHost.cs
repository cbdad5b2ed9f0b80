using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace HpcCampaign.Host;

/// <summary>The PSHost of hpcc: stdout for output, stderr for errors, warnings, verbose and progress.</summary>
internal sealed class ConsoleHost : PSHost
{
    private readonly ConsoleUI _ui = new();
    private readonly Guid _id = Guid.NewGuid();

    public bool ShouldExit { get; private set; }
    public int ExitCode { get; private set; }

    public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;
    public override Guid InstanceId => _id;
    public override string Name => "hpcc";
    public override PSHostUserInterface UI => _ui;
    public override Version Version => typeof(ConsoleHost).Assembly.GetName().Version ?? new Version(0, 1);
    public override void EnterNestedPrompt() => throw new NotSupportedException("hpcc has no nested prompts.");
    public override void ExitNestedPrompt() => throw new NotSupportedException("hpcc has no nested prompts.");
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }

    public override void SetShouldExit(int exitCode)
    {
        ShouldExit = true;
        ExitCode = exitCode;
    }

    public void WriteErrorRecord(ErrorRecord record) => _ui.WriteErrorLine(record.ToString());
}

internal sealed class ConsoleUI : PSHostUserInterface
{
    private readonly ConsoleRawUI _raw = new();
    private readonly object _progressGate = new();
    private readonly Dictionary<long, ProgressRecord> _progress = new();
    private bool _progressShown;
    private DateTime _lastProgressDraw;

    public override PSHostRawUserInterface RawUI => _raw;
    /// <summary>Colour only for a terminal; redirected output (pipes, files, CI logs) gets plain text.</summary>
    public override bool SupportsVirtualTerminal { get; } =
        !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb")
        && Environment.GetEnvironmentVariable("NO_COLOR") is null;

    private string Plain(string value) => GetOutputString(value, SupportsVirtualTerminal);

    public override void Write(string value) { ClearProgress(); Console.Out.Write(Plain(value)); }
    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Write(value);
    public override void WriteLine(string value) { ClearProgress(); Console.Out.WriteLine(Plain(value)); }
    public override void WriteErrorLine(string value) { ClearProgress(); Console.Error.WriteLine(GetOutputString(value, SupportsVirtualTerminal && !Console.IsErrorRedirected)); }
    public override void WriteDebugLine(string message) { ClearProgress(); Console.Error.WriteLine("DEBUG: " + message); }
    public override void WriteVerboseLine(string message) { ClearProgress(); Console.Error.WriteLine("VERBOSE: " + message); }
    public override void WriteWarningLine(string message) { ClearProgress(); Console.Error.WriteLine("WARNING: " + message); }
    public override void WriteInformation(InformationRecord record) { ClearProgress(); Console.Out.WriteLine(record.ToString()); }

    /// <summary>One status line on stderr, redrawn at most 4 times a second; only when stderr is a terminal.</summary>
    public override void WriteProgress(long sourceId, ProgressRecord record)
    {
        if (Console.IsErrorRedirected) return;
        lock (_progressGate)
        {
            var key = (sourceId << 16) ^ record.ActivityId;
            if (record.RecordType == ProgressRecordType.Completed) _progress.Remove(key);
            else _progress[key] = record;
            if (_progress.Count == 0) { ClearProgress(); return; }
            if ((DateTime.UtcNow - _lastProgressDraw).TotalMilliseconds < 250) return;
            _lastProgressDraw = DateTime.UtcNow;
            var r = _progress.Values.Last();
            var pct = r.PercentComplete >= 0 ? $" {r.PercentComplete,3}%" : "";
            var line = $"{r.Activity}:{pct} {r.StatusDescription} {r.CurrentOperation}".Trim();
            var width = Math.Max(20, SafeWidth() - 1);
            if (line.Length > width) line = line[..width];
            Console.Error.Write("\r" + line.PadRight(width));
            _progressShown = true;
        }
    }

    private void ClearProgress()
    {
        if (!_progressShown) return;
        Console.Error.Write("\r" + new string(' ', Math.Max(20, SafeWidth() - 1)) + "\r");
        _progressShown = false;
    }

    private static int SafeWidth()
    {
        try { return Console.WindowWidth > 0 ? Console.WindowWidth : 120; } catch (IOException) { return 120; }
    }

    public override string ReadLine() => Console.ReadLine() ?? "";

    public override SecureString ReadLineAsSecureString()
    {
        var s = new SecureString();
        if (Console.IsInputRedirected)
        {
            foreach (var c in Console.ReadLine() ?? "") s.AppendChar(c);
        }
        else
        {
            while (true)
            {
                var k = Console.ReadKey(intercept: true);
                if (k.Key == ConsoleKey.Enter) break;
                if (k.Key == ConsoleKey.Backspace) { if (s.Length > 0) s.RemoveAt(s.Length - 1); continue; }
                s.AppendChar(k.KeyChar);
            }
            Console.Out.WriteLine();
        }
        s.MakeReadOnly();
        return s;
    }

    public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions)
    {
        if (!string.IsNullOrEmpty(caption)) WriteLine(caption);
        if (!string.IsNullOrEmpty(message)) WriteLine(message);
        var result = new Dictionary<string, PSObject>();
        foreach (var d in descriptions)
        {
            Write(d.Name + ": ");
            result[d.Name] = d.ParameterTypeFullName == typeof(SecureString).FullName
                ? PSObject.AsPSObject(ReadLineAsSecureString())
                : PSObject.AsPSObject(ReadLine());
        }
        return result;
    }

    public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
    {
        if (!string.IsNullOrEmpty(caption)) WriteLine(caption);
        WriteLine(message);
        for (var i = 0; i < choices.Count; i++) WriteLine($"  [{i}] {choices[i].Label.Replace("&", "")}");
        Write($"Choice [{defaultChoice}]: ");
        var line = ReadLine();
        return int.TryParse(line, out var n) && n >= 0 && n < choices.Count ? n : defaultChoice;
    }

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
        PromptForCredential(caption, message, userName, targetName, PSCredentialTypes.Default, PSCredentialUIOptions.Default);

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
        PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options)
    {
        if (!string.IsNullOrEmpty(message)) WriteLine(message);
        if (string.IsNullOrEmpty(userName)) { Write("User: "); userName = ReadLine(); }
        Write("Password: ");
        return new PSCredential(userName, ReadLineAsSecureString());
    }
}

internal sealed class ConsoleRawUI : PSHostRawUserInterface
{
    public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
    public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
    public override Size BufferSize
    {
        get => new(Width(), 9999);
        set { }
    }
    public override Coordinates CursorPosition { get; set; }
    public override int CursorSize { get; set; } = 1;
    public override bool KeyAvailable => !Console.IsInputRedirected && Console.KeyAvailable;
    public override Size MaxPhysicalWindowSize => new(Width(), 50);
    public override Size MaxWindowSize => new(Width(), 50);
    public override Coordinates WindowPosition { get; set; }
    public override Size WindowSize
    {
        get => new(Width(), 50);
        set { }
    }
    public override string WindowTitle { get; set; } = "hpcc";

    private static int Width()
    {
        if (Console.IsOutputRedirected) return 160;
        try { return Console.WindowWidth > 0 ? Console.WindowWidth : 120; } catch (IOException) { return 120; }
    }

    public override void FlushInputBuffer() { }
    public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException();
    public override KeyInfo ReadKey(ReadKeyOptions options)
    {
        var k = Console.ReadKey((options & ReadKeyOptions.NoEcho) != 0);
        return new KeyInfo((int)k.Key, k.KeyChar, ControlKeyStates.NumLockOn, true);
    }
    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) => throw new NotSupportedException();
    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) => throw new NotSupportedException();
    public override void SetBufferContents(Rectangle rectangle, BufferCell fill) => throw new NotSupportedException();
}
