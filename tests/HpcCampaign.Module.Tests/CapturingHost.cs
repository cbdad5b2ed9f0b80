using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text;

namespace HpcCampaign.Tests;

/// <summary>A host whose UI records what Out-Default renders (so format views can be asserted) and answers prompts from a queue.</summary>
public sealed class CapturingHost : PSHost
{
    private readonly CapturingUI _ui = new();
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override string Name => "HpcCampaignTestHost";
    public override PSHostUserInterface UI => _ui;
    public override Version Version => new(1, 0);
    public string Text => _ui.Text;
    public void ClearText() => _ui.Clear();
    public Queue<string> Answers => _ui.Answers;
    public override void EnterNestedPrompt() { }
    public override void ExitNestedPrompt() { }
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
    public override void SetShouldExit(int exitCode) { }

    private sealed class CapturingUI : PSHostUserInterface
    {
        private readonly StringBuilder _sb = new();
        public Queue<string> Answers { get; } = new();
        public string Text { get { lock (_sb) return _sb.ToString(); } }
        public void Clear() { lock (_sb) _sb.Clear(); }
        public override PSHostRawUserInterface RawUI { get; } = new Raw();
        private void Add(string s) { lock (_sb) _sb.Append(GetOutputString(s, false)); }
        public override string ReadLine() => Answers.Count > 0 ? Answers.Dequeue() : "";
        public override SecureString ReadLineAsSecureString()
        {
            var s = new SecureString();
            foreach (var c in ReadLine()) s.AppendChar(c);
            return s;
        }
        public override void Write(string value) => Add(value);
        public override void Write(ConsoleColor f, ConsoleColor b, string value) => Add(value);
        public override void WriteLine(string value) => Add(value + "\n");
        public override void WriteErrorLine(string value) => Add("ERROR: " + value + "\n");
        public override void WriteDebugLine(string message) { }
        public override void WriteProgress(long sourceId, ProgressRecord record) { }
        public override void WriteVerboseLine(string message) { }
        public override void WriteWarningLine(string message) => Add("WARNING: " + message + "\n");
        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) =>
            descriptions.ToDictionary(d => d.Name, _ => PSObject.AsPSObject(ReadLine()));
        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice) => defaultChoice;
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
            new(userName, ReadLineAsSecureString());
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
            PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => new(userName, ReadLineAsSecureString());
    }

    private sealed class Raw : PSHostRawUserInterface
    {
        public override ConsoleColor BackgroundColor { get; set; }
        public override Size BufferSize { get; set; } = new(200, 1000);
        public override Coordinates CursorPosition { get; set; }
        public override int CursorSize { get; set; }
        public override ConsoleColor ForegroundColor { get; set; }
        public override bool KeyAvailable => false;
        public override Size MaxPhysicalWindowSize => new(200, 100);
        public override Size MaxWindowSize => new(200, 100);
        public override Coordinates WindowPosition { get; set; }
        public override Size WindowSize { get; set; } = new(200, 100);
        public override string WindowTitle { get; set; } = "";
        public override void FlushInputBuffer() { }
        public override BufferCell[,] GetBufferContents(Rectangle rectangle) => new BufferCell[0, 0];
        public override KeyInfo ReadKey(ReadKeyOptions options) => default;
        public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
        public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
        public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
    }
}
