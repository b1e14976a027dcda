using System.Text.Encodings.Web;

namespace NewLlm.Training;

/// <summary>
/// How every JSON file the library writes for people is encoded (the progress file, the checkpoint manifest): UTF-8 with
/// only what JSON requires escaped (quotes, backslash, control characters), so <c>+</c>, <c>&lt;</c>, <c>&amp;</c> and
/// non-ASCII text read as written. These files are never embedded in HTML, where the default encoder's caution matters.
/// </summary>
internal static class ReadableJson
{
    public static JavaScriptEncoder Encoder => JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>Indented (two spaces, as Python's <c>json.dump(indent=2)</c> of the original), readable escaping.</summary>
    public static JsonWriterOptions WriterOptions => new() { Indented = true, Encoder = Encoder };
}
