using System.Text.Json;
using NewLlm;

namespace NewLlm.Cli;

/// <summary>
/// What a run resumed or started from a checkpoint starts from: the settings recorded (its trainer options and the run
/// configuration newllm train adds), the model's sizes, how far it had trained, and the vocabulary it holds (none in the
/// original trainer's checkpoints). <see cref="Model"/> holds a New-LLM model's sizes, <see cref="Baseline"/> a Transformer baseline's.
/// </summary>
internal sealed record ResumePoint(JsonObject Settings, NewLlmOptions? Model, int CompletedEpochs, int BatchesIntoEpoch, long GlobalStep, bool IsOriginal, DialogueTokenizer? Tokenizer = null, TransformerBaselineOptions? Baseline = null)
{
    /// <summary>Whether the checkpoint holds a Transformer baseline.</summary>
    public bool IsTransformer => Baseline is not null;

    /// <summary>The checkpoint's model's layers (New-LLM's feed-forward layers or the baseline's blocks).</summary>
    public int NumLayers => Baseline?.NumLayers ?? Model!.NumLayers;

    /// <summary>The checkpoint's model's vocabulary size.</summary>
    public int VocabSize => Baseline?.VocabSize ?? Model!.VocabSize;

    /// <summary>
    /// Reads the checkpoint at <paramref name="path"/>, newllm's or the original Python trainer's (which records only
    /// max_seq_length and num_layers, and no vocabulary), as a run will read it (every entry's hash, the PyTorch part, the
    /// weights into a model of its shape, the vocabulary), so that one the run would refuse is refused before anything
    /// is written under <c>--output</c>; the errors a person typing the option makes are said in the program's words.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="optionName">The option that named it (<c>--resume</c>, <c>--from</c>).</param>
    public static ResumePoint Read(string path, string optionName)
    {
        CheckpointArgument.RequireFile(path, optionName);
        if (CheckpointFile.IsOriginalCheckpoint(path))
        {
            using PyTorchCheckpoint original = PyTorchCheckpoint.Read(path);
            if (optionName == "--resume" && (original.IsStateDictOnly || original.Optimizer is null))
            {
                throw new InvalidDataException(
                    $"{path}: the file holds model weights only ({(original.IsStateDictOnly ? "a state dict" : "no 'optimizer_state_dict'")}), so there is no run to resume. Give the original trainer's checkpoint or one NewLlm wrote.");
            }

            using NewLlmModel probe = NewLlmModel.FromPyTorch(path);
            JsonObject settings = OriginalCheckpoints.Settings(original, path);
            if (original.Optimizer is { ParamGroups.Count: > 0 } adam)
            {
                settings["learning_rate"] = adam.ParamGroups[0].LearningRate;
            }

            int epochsDone = original.CompletedEpochs; // the original stores the index of the epoch it finished, not a count
            return new ResumePoint(settings, probe.Options, epochsDone, 0, 0, IsOriginal: true);
        }

        CheckpointManifest manifest = CheckpointFile.ReadManifest(path);
        CheckpointFile.LoadModel(path).Dispose(); // the PyTorch part reads and every weight fits the recorded shape
        DialogueTokenizer? tokenizer = CheckpointFile.LoadTokenizer(path);
        return new ResumePoint(manifest.TrainerOptions, manifest.ModelOptions, manifest.State.CompletedEpochs, manifest.State.BatchesIntoEpoch, manifest.State.GlobalStep, IsOriginal: false, tokenizer, manifest.BaselineOptions);
    }

    /// <summary>The recorded setting <paramref name="key"/>, or null; read leniently: values older versions wrote as strings still read.</summary>
    public T? Get<T>(string key)
        where T : struct, IParsable<T>
    {
        if (Settings[key] is not JsonValue value)
        {
            return null;
        }

        if (value.GetValueKind() == JsonValueKind.String)
        {
            return T.TryParse(value.GetValue<string>(), CultureInfo.InvariantCulture, out T parsed) ? parsed : null;
        }

        try
        {
            return value.Deserialize<T>();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public string? GetString(string key) => Settings[key] is JsonValue value ? value.ToString() : null;
}
