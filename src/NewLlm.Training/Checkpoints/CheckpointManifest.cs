namespace NewLlm.Training;

/// <summary>
/// The JSON part of a checkpoint (<c>manifest.json</c> inside the zip container): format and version, model and
/// trainer options, trainer state and history, callback states, tokenizer identity and the SHA-256 of every binary entry.
/// </summary>
public sealed class CheckpointManifest
{
    /// <summary>The format name every NewLlm training checkpoint carries.</summary>
    public const string FormatName = "newllm-training-checkpoint";

    /// <summary>
    /// The version this library writes and reads, the first it released: the file is a PyTorch checkpoint
    /// (<c>torch.load</c> reads it as the original trainer's dict; the weights and Adam's state are stored there only)
    /// with NewLlm's records, <c>manifest.sha256</c> (the SHA-256 of <c>manifest.json</c>) among them, under
    /// <c>archive/newllm/</c>. Versions 1 to 3 were development builds' layouts and are refused.
    /// </summary>
    public const int CurrentVersion = 4;

    /// <summary>Always <see cref="FormatName"/>.</summary>
    public string Format { get; set; } = FormatName;

    /// <summary>The container version of the file (always <see cref="CurrentVersion"/> in a file that is read).</summary>
    public int Version { get; set; } = CurrentVersion;

    /// <summary>When the checkpoint was written (UTC).</summary>
    public DateTimeOffset CreatedUtc { get; set; }

    /// <summary>Why it was written.</summary>
    public CheckpointKind Kind { get; set; }

    /// <summary>Name of the run.</summary>
    public string ModelName { get; set; } = string.Empty;

    /// <summary>
    /// Which model the checkpoint holds: <see cref="LanguageModel.NewLlmType"/> (with <see cref="ModelOptions"/>) or
    /// <see cref="LanguageModel.TransformerBaselineType"/> (with <see cref="BaselineOptions"/>). A manifest written before
    /// the field existed holds a New-LLM model, which is the default.
    /// </summary>
    public string ModelType { get; set; } = LanguageModel.NewLlmType;

    /// <summary>Sizes of the New-LLM model; null when the checkpoint holds another (<see cref="ModelType"/>).</summary>
    public NewLlmOptions? ModelOptions { get; set; }

    /// <summary>Sizes of the Transformer baseline (heads and positions included) when <see cref="ModelType"/> is <see cref="LanguageModel.TransformerBaselineType"/>; null otherwise.</summary>
    public TransformerBaselineOptions? BaselineOptions { get; set; }

    /// <summary>The trainer options, as <see cref="Training.TrainerOptions.Describe"/> gives them.</summary>
    public JsonObject TrainerOptions { get; set; } = new();

    /// <summary>The trainer's state when the checkpoint was written: progress, best so far, partial epoch, history.</summary>
    public TrainerState State { get; set; } = new();

    /// <summary>States of callbacks implementing <see cref="ICheckpointStateful"/>, by key.</summary>
    public Dictionary<string, JsonNode?> CallbackStates { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Kind of the tokenizer stored in <c>tokenizer.json</c>, or null when none is stored.</summary>
    public string? TokenizerKind { get; set; }

    /// <summary>Fingerprint of the stored tokenizer, or null.</summary>
    public string? TokenizerFingerprint { get; set; }

    /// <summary>SHA-256 (hex) of each binary entry, by entry name.</summary>
    public Dictionary<string, string> EntryHashes { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Throws when the checkpoint was trained with another tokenizer than <paramref name="tokenizer"/> (their
    /// fingerprints differ): its token ids would mean other words, even where the vocabularies have one size. A manifest
    /// that records no tokenizer passes.
    /// </summary>
    /// <param name="tokenizer">The tokenizer the checkpoint's model is to read and write with.</param>
    /// <param name="path">The checkpoint, for the message.</param>
    /// <param name="whose">Whose tokenizer <paramref name="tokenizer"/> is, for the message (<c>this run's</c>).</param>
    /// <param name="remedy">What to do instead, for the message.</param>
    /// <exception cref="InvalidDataException">The fingerprints differ.</exception>
    public void CheckTokenizer(DialogueTokenizer tokenizer, string path, string whose, string remedy)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (TokenizerFingerprint is string saved && saved != tokenizer.Fingerprint)
        {
            throw new InvalidDataException(
                $"{path}: the checkpoint was trained with another tokenizer ({TokenizerKind}, fingerprint {Short(saved)}) than {whose} ({tokenizer.Kind}, fingerprint {Short(tokenizer.Fingerprint)}). {remedy}");
        }
    }

    private static string Short(string fingerprint) => fingerprint.Length > 12 ? fingerprint[..12] : fingerprint;
}
