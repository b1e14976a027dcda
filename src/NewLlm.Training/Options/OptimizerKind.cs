namespace NewLlm.Training;

/// <summary>The optimizer a <see cref="Trainer"/> uses.</summary>
public enum OptimizerKind
{
    /// <summary>Adam (the original's optimizer); weight decay, if any, is added to the gradient (L2).</summary>
    Adam,

    /// <summary>AdamW: Adam with decoupled weight decay.</summary>
    AdamW,
}
