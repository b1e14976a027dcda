namespace NewLlm.Training;

/// <summary>
/// Opens a training checkpoint written by <see cref="Trainer"/> for inspection or inference: its manifest, its model and
/// its tokenizer. Every entry is verified (SHA-256) before it is used. To continue training from it, use
/// <see cref="Trainer.LoadCheckpoint"/>.
/// </summary>
public static class CheckpointFile
{
    /// <summary>Reads and verifies a checkpoint's manifest (every entry's hash is checked).</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, or is truncated or corrupted.</exception>
    public static CheckpointManifest ReadManifest(string path)
    {
        using TrainingCheckpoint checkpoint = TrainingCheckpoint.Read(path);
        return checkpoint.Manifest;
    }

    /// <summary>
    /// Whether <paramref name="path"/> is a PyTorch checkpoint that NewLlm did not write, such as the original Python
    /// trainer's: it holds no NewLlm manifest (nor tokenizer), so <see cref="ReadManifest"/> refuses it, while
    /// <see cref="LoadModel"/>, <see cref="PyTorchCheckpoint.Read(string)"/> and <see cref="Trainer.LoadCheckpoint"/> take it.
    /// </summary>
    /// <param name="path">The file.</param>
    public static bool IsOriginalCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return File.Exists(path) && TrainingCheckpoint.IsForeignPyTorchFile(path);
    }

    /// <summary>
    /// Creates the model the checkpoint holds (<see cref="CheckpointManifest.ModelType"/>: a <see cref="NewLlmModel"/> or a
    /// <see cref="TransformerBaselineModel"/>) with its sizes and loads its weights, in evaluation mode (ready for
    /// inference; call <c>train()</c> to fine-tune it); also from a PyTorch checkpoint or state dict NewLlm did not write
    /// (<see cref="LanguageModel.LoadFromPyTorch"/>: New-LLM's or the baseline's).
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="device">Where to put the model; the CPU when null.</param>
    /// <exception cref="InvalidDataException">The file is not a valid checkpoint.</exception>
    public static LanguageModel LoadModel(string path, Device? device = null)
    {
        LanguageModel model;
        if (IsOriginalCheckpoint(path))
        {
            model = LanguageModel.LoadFromPyTorch(path);
        }
        else
        {
            using TrainingCheckpoint checkpoint = TrainingCheckpoint.Read(path);
            model = checkpoint.CreateModel();
        }

        if (device is not null)
        {
            model.to(device);
        }

        return model;
    }

    /// <summary>The tokenizer stored in the checkpoint, or null when none was stored (always for the original trainer's checkpoints: rebuild its vocabulary with <see cref="WordLevelTokenizer.Build"/> from the same data).</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <exception cref="InvalidDataException">The file is not a valid checkpoint.</exception>
    public static DialogueTokenizer? LoadTokenizer(string path)
    {
        if (IsOriginalCheckpoint(path))
        {
            return null;
        }

        using TrainingCheckpoint checkpoint = TrainingCheckpoint.Read(path);
        return checkpoint.ReadTokenizer();
    }
}
