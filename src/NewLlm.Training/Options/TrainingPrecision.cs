namespace NewLlm.Training;

/// <summary>The arithmetic of a training step (<see cref="TrainerOptions.Precision"/>).</summary>
public enum TrainingPrecision
{
    /// <summary>Everything in the parameters' dtype (float32): the original's arithmetic, exactly.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The dtype's name, as PyTorch and the --precision option spell it.")]
    Float32,

    /// <summary>
    /// The matrix products in bfloat16 (<see cref="LanguageModel.ComputeDType"/>); weights, gradients, optimizer state,
    /// states, gates, LayerNorm, softmax and loss in float32. 1.3x to 2.9x a float32 step on a CPU with <c>avx512_bf16</c>
    /// (the more the larger the batch and vocabulary); validation runs in float32.
    /// </summary>
    BFloat16Mixed,
}
