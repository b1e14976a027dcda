namespace NewLlm.Training;

/// <summary>
/// Trains only the new context dimensions of a model widened by <see cref="NewLlmModel.ExpandContext"/>, as the
/// original's <c>--freeze_base_dims</c> does: after each backward the gradients of the first <see cref="BaseContextDim"/>
/// rows of the context update, both gates and the LayerNorm, and of the first layer's columns of those context
/// dimensions, are zeroed. The embeddings, the first layer's embedding columns, deeper layers and the output layer train.
/// </summary>
/// <remarks>
/// With Adam (or SGD) and no weight decay, a parameter entry whose gradient is always zero never moves, so the frozen
/// blocks stay bit-identical. Weight decay would still shrink them; the trainer's default has none.
/// </remarks>
public sealed class FreezeBaseContextDimensions : ITrainerCallback
{
    private static readonly string[] RowBlocks = ["context_update.weight", "context_update.bias", "forget_gate.weight", "forget_gate.bias", "input_gate.weight", "input_gate.bias", "context_norm.weight", "context_norm.bias"];

    /// <summary>Creates the callback.</summary>
    /// <param name="baseContextDim">The context size before expansion: dimensions 0..baseContextDim-1 are frozen.</param>
    public FreezeBaseContextDimensions(int baseContextDim)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(baseContextDim, 1);
        BaseContextDim = baseContextDim;
    }

    /// <summary>The number of frozen (leading) context dimensions.</summary>
    public int BaseContextDim { get; }

    // New-LLM only: a Transformer baseline has no context vector to freeze.
    private static NewLlmModel Model(TrainerContext context) => context.Model as NewLlmModel
        ?? throw new InvalidOperationException($"{nameof(FreezeBaseContextDimensions)} freezes New-LLM context dimensions, but the model is a {context.Model.ModelType}: remove the callback (newllm train: leave out --freeze-base-dims) for that model.");

    /// <inheritdoc />
    public void OnTrainBegin(TrainerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        NewLlmModel model = Model(context);
        if (model.Options.ContextDim <= BaseContextDim)
        {
            throw new InvalidOperationException($"The model's context has {model.Options.ContextDim} dimensions, not more than the {BaseContextDim} to freeze: freezing the base dimensions is for a model widened by ExpandContext.");
        }
    }

    /// <inheritdoc />
    public void OnAfterBackward(TrainerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int e = Model(context).Options.EmbedDim;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach ((string name, var parameter) in context.Model.named_parameters())
        {
            if (parameter.grad is not Tensor grad)
            {
                continue;
            }

            if (name == "fnn_layers.0.weight")
            {
                grad.narrow(1, e, BaseContextDim).zero_();
            }
            else if (RowBlocks.Contains(name))
            {
                grad.narrow(0, 0, BaseContextDim).zero_();
            }
        }
    }
}
